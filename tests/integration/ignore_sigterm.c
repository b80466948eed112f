/* LD_PRELOAD shim for tests: the process it is loaded into ignores SIGTERM, as a hung or
 * misbehaving daemon would.  Every handler the program installs for SIGTERM (sigaction and
 * the signal() family) becomes SIG_IGN; queries and other signals pass through unchanged.
 * Built by tests/integration/test_ldap_agent.py:  gcc -shared -fPIC -o X.so ignore_sigterm.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);

static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    static sigaction_fn real;
    struct sigaction ignore;

    if (!real)
        real = (sigaction_fn)next("sigaction");
    if (sig == SIGTERM && act != NULL) {
        ignore = *act;
        ignore.sa_handler = SIG_IGN;
        ignore.sa_flags &= ~SA_SIGINFO; /* sa_handler, not sa_sigaction, is the one used */
        act = &ignore;
    }
    return real(sig, act, old);
}

static sighandler_t through(const char *name, int sig, sighandler_t handler)
{
    signal_fn real = (signal_fn)next(name);

    return real(sig, sig == SIGTERM ? SIG_IGN : handler);
}

sighandler_t signal(int sig, sighandler_t handler)
{
    return through("signal", sig, handler);
}

sighandler_t bsd_signal(int sig, sighandler_t handler)
{
    return through("bsd_signal", sig, handler);
}

sighandler_t sysv_signal(int sig, sighandler_t handler)
{
    return through("sysv_signal", sig, handler);
}

sighandler_t sigset(int sig, sighandler_t handler)
{
    return through("sigset", sig, handler);
}
