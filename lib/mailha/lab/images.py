"""Partition images: one ext4 image on its own loop device per partition, as a real site has
one LUN per partition (the GWIA's, the post office's, the Messaging Server's).

Each image is recorded in the lab state before it exists, so `down` detaches whatever was
attached even when a deploy failed half way."""

from __future__ import annotations

import glob
import os
import subprocess

from mailha.lab import state
from mailha.lab.layout import Layout

DEFAULT_SIZE = 64 * 1024 * 1024


def path(layout: Layout, name: str) -> str:
    return os.path.join(layout.root, f"{name}.img")


def make(layout: Layout, name: str, mountpoint: str, size: int = DEFAULT_SIZE) -> str:
    """The loop device of partition image *name*, made (sparse, ext4) on first use."""
    with state.locked(layout) as st:
        made = st.setdefault("images", {})
        if made.get(name):
            return made[name]
        made[name] = None
    image = path(layout, name)
    with open(image, "wb") as f:
        f.truncate(size)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", f"mailha-{name}", image], check=True,
                   capture_output=True, timeout=60)
    os.makedirs(mountpoint, exist_ok=True)
    loop = subprocess.run(["losetup", "--find", "--show", image], check=True,
                          capture_output=True, text=True, timeout=20).stdout.strip()
    with state.locked(layout) as st:
        st["images"][name] = loop
    return loop


def detach_all(layout: Layout) -> None:
    """Detach every loop device backed by a partition image of this lab (for `down`)."""
    for image in glob.glob(os.path.join(layout.root, "*.img")):
        if image == layout.image:
            continue  # the shared image: lifecycle detaches it
        found = subprocess.run(["losetup", "-j", image, "-O", "NAME", "-n"], check=False, capture_output=True,
                               text=True, timeout=20).stdout.split()
        for dev in found:
            subprocess.run(["losetup", "-d", dev], check=False, capture_output=True, timeout=20)
