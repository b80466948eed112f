"""The Vagrant lab: the cluster on real VMs (libvirt, software emulation), the second test tier.

The namespace lab (:mod:`mailha.lab`) is the fast tier; this one is closer to production:
separate kernels, systemd, pcsd, ``pcs cluster setup``, the mailha packages installed as an
admin installs them, fencing by ``fence_xvm``.  The cluster tests reach it through testinfra's
ssh backend.  ``vagrant/`` in the source tree holds the Vagrantfile and the box build.
"""
