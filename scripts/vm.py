#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot the rdynptr test kernel in QEMU and run one command in the guest.

usage: scripts/vm.py --kernel BZIMAGE [--module KO] [--timeout S]
                     [--accel auto|kvm|tcg] [--verdict-dir DIR]
                     [--shell | --cmd CMD] [--cwd DIR] [-v]

With --accel auto, KVM is used when /dev/kvm works and a KVM guest really
boots on this host (nested KVM may hang after the BIOS).  A probe boots
the kernel once to its first panic; its verdict is kept in --verdict-dir,
keyed by the host kernel, the CPU and the QEMU version.

Runs inside the toolchain root (scripts/in-root), whose "/" becomes the
guest's root file system, read-only over 9p.  Whatever in-root bind-mounts
(the repository, the cache) therefore appears in the guest at the same
absolute path.  A per-run directory is shared read-write and mounted at
the same path in the guest: it carries the command in, and its exit status
and standard output out.

The guest's standard output goes to its second serial port and is copied
to our stdout as it arrives; the kernel console (first serial port, which
also carries the command's standard error) is streamed to our stderr and
watched for kernel problems.

Exit status: the command's own, unless the run failed as a whole:
"""

import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

EXIT_KERNEL_CRASH = 250     # panic, Oops, BUG: the kernel died or a task oopsed
EXIT_KERNEL_REPORT = 251    # WARNING, sanitizer, lockdep, kmemleak... report
EXIT_TIMEOUT = 252          # the guest ran past --timeout and was killed
EXIT_NO_STATUS = 253        # the guest stopped without reporting a status
EXIT_RUNNER = 254           # the runner itself failed (bad arguments, QEMU)

KVM_TRIAL_SECONDS = 20      # a KVM guest that prints nothing by then is stuck
KVM_PROBE_SECONDS = 10      # a KVM boot to the panic takes well under 1 s

__doc__ += """
  %d  the kernel crashed (panic, Oops, BUG)
  %d  the kernel reported a problem (WARNING, KASAN, UBSAN, lockdep, ...)
  %d  timeout
  %d  the guest stopped without reporting the command's exit status
  %d  the runner failed
""" % (EXIT_KERNEL_CRASH, EXIT_KERNEL_REPORT, EXIT_TIMEOUT, EXIT_NO_STATUS,
       EXIT_RUNNER)

# Console lines that mean the kernel is in trouble: one list for the
# project, shared with rdynptr-test (tools/kernel/trouble-patterns).
TROUBLE_PATTERNS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools", "kernel", "trouble-patterns")


def read_trouble_patterns(path=TROUBLE_PATTERNS):
    """Return (crash patterns, report patterns) of the pattern file."""
    crash, report = [], []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            kind, _, pattern = line.partition(" ")
            {"crash": crash, "report": report}[kind].append(pattern)
    return crash, report


CRASH_PATTERNS, REPORT_PATTERNS = read_trouble_patterns()
CRASH_RE = re.compile("|".join(CRASH_PATTERNS))
REPORT_RE = re.compile("|".join(REPORT_PATTERNS))

STATUS_FILE = "status"
STDOUT_FILE = "stdout"
CMD_FILE = "cmd"
# The run directory in a guest whose root is not ours (--root).
GUEST_RUNDIR = "/run/rdynptr"


def classify(line):
    """Return "crash", "report" or None for one console line."""
    if CRASH_RE.search(line):
        return "crash"
    if REPORT_RE.search(line):
        return "report"
    return None


def kvm_usable():
    """True if /dev/kvm can create a VM with a vCPU."""
    import fcntl
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, 0xAE00) != 12:       # KVM_GET_API_VERSION
            return False
        vm = fcntl.ioctl(fd, 0xAE01, 0)         # KVM_CREATE_VM
        try:
            vcpu = fcntl.ioctl(vm, 0xAE41, 0)   # KVM_CREATE_VCPU
            os.close(vcpu)
        finally:
            os.close(vm)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def accel_key(qemu):
    """What decides whether KVM can run a guest here: the host kernel, the
    CPU (model and flags, which nested virtualization trims) and QEMU."""
    import hashlib
    h = hashlib.sha256()
    u = os.uname()
    h.update(("%s %s %s\n" % (u.release, u.version, u.machine)).encode())
    try:
        with open("/proc/cpuinfo") as f:
            cpu = f.read().split("\n\n", 1)[0]
        h.update("\n".join(l for l in cpu.splitlines()
                           if l.split(":")[0].strip() in
                           ("vendor_id", "model name", "flags", "microcode")).encode())
    except OSError:
        pass
    try:
        h.update(subprocess.run([qemu, "--version"], capture_output=True,
                                timeout=30).stdout)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return h.hexdigest()[:16]


def probe_kvm(args):
    """Boot the kernel under KVM with no root file system and return
    (True, why) if it runs all the way to the panic that follows (which
    with panic=-1 and -no-reboot ends QEMU), else (False, why).  Nested
    KVM can fail at once (QEMU exits, e.g. on an MSR it cannot set) or
    hang after SeaBIOS: the probe catches both in at most
    KVM_PROBE_SECONDS."""
    cmd = [args.qemu, "-nodefaults", "-no-user-config", "-no-reboot",
           "-display", "none", "-machine", "pc", "-accel", "kvm", "-cpu", "host",
           "-smp", "1", "-m", "256M", "-kernel", args.kernel,
           "-append", "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 "
                      "panic=-1 loglevel=4 root=/dev/rdynptr-none rdinit=/rdynptr-none",
           "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con"]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, preexec_fn=set_pdeathsig)
    except OSError as e:
        return False, "cannot start %s: %s" % (args.qemu, e)
    try:
        out, _ = proc.communicate(timeout=KVM_PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        kill(proc)
        out = proc.stdout.read() if proc.stdout else b""
        seen = "nothing" if not out.strip() else "no panic"
        return False, "a KVM guest showed %s within %d s" % (seen, KVM_PROBE_SECONDS)
    text = out.decode("utf-8", "replace")
    if "Kernel panic" in text:
        return True, "a KVM guest booted to its first panic in %.1f s" % (
            time.monotonic() - start)
    last = [l for l in text.splitlines() if l.strip()][-1:] or ["no output"]
    return False, "QEMU with KVM exited with status %d: %s" % (proc.returncode, last[0])


def decide_accel(args):
    """The accelerator for this run: TCG with a plugin (plugins are TCG's);
    else --accel if it is kvm or tcg; for auto,
    KVM if /dev/kvm works and a KVM guest boots here.  The boot verdict is
    remembered in --verdict-dir, keyed by accel_key(), so that only the
    first run on a host pays for the probe."""
    if args.plugin:
        if args.accel == "kvm":
            print("vm: a TCG plugin is loaded: using TCG, not KVM", file=sys.stderr)
        return "tcg"
    if args.accel != "auto":
        return args.accel
    if not kvm_usable():
        return "tcg"
    path = None
    if args.verdict_dir:
        path = os.path.join(args.verdict_dir, accel_key(args.qemu))
        try:
            with open(path) as f:
                verdict = f.readline().strip()
            if verdict in ("kvm", "tcg"):
                return verdict
        except OSError:
            pass
    ok, why = probe_kvm(args)
    verdict = "kvm" if ok else "tcg"
    print("vm: %s; using %s%s" % (why, verdict.upper(),
                                   " (remembered in %s)" % path if path else ""),
          file=sys.stderr)
    if path:
        remember_accel(path, verdict, why)
    return verdict


def remember_accel(path, verdict, why):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%s\n%s\n" % (verdict, why))
    os.replace(tmp, path)


class Console:
    """Reads the kernel console, streams it and remembers trouble."""

    def __init__(self, stream, out, context=60):
        self.stream = stream
        self.out = out
        self.context = context
        self.lines = []
        self.first_problem = None   # (kind, index into lines)
        self.crashed = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.out.write(line + "\n")
            self.out.flush()
            self.lines.append(line)
            kind = classify(line)
            if kind == "crash":
                self.crashed = True
            if kind and self.first_problem is None:
                self.first_problem = (kind, len(self.lines) - 1)

    def join(self, timeout=None):
        self.thread.join(timeout)

    def excerpt(self):
        if self.first_problem is None:
            return []
        start = max(0, self.first_problem[1] - 2)
        return self.lines[start:start + self.context]


def copy_stdout(path, done, sink):
    """Copy the guest's stdout file to sink while QEMU runs (tail -f)."""
    pos = 0
    while True:
        finished = done.is_set()
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            pos += len(data)
            sink.write(data)
            sink.flush()
        if finished:
            return
        done.wait(0.1)


def guest_rundir(args, rundir):
    """Where the guest mounts the run directory: where it is on the host
    when the guest's root is ours, else (another root, which has no such
    path) under the tmpfs the init mounts on /run."""
    return rundir if args.root == "/" else GUEST_RUNDIR


def qemu_cmdline(args, rundir, accel):
    append = [
        "console=ttyS0,115200",
        "root=rootfs", "rootfstype=9p",
        "rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose",
        "ro", "init=" + args.init,
        "panic=-1", "oops=panic", "printk.devkmsg=on",
        "loglevel=%d" % (8 if args.verbose else 5),
        "rdynptr_run=" + guest_rundir(args, rundir),
        # Under TCG a normal grace period on two vCPUs takes tens of ms,
        # and every module unload waits for several: 1000 stress cycles
        # took 250 s instead of 30 s with expedited ones.
        "rcupdate.rcu_expedited=1",
        # KUnit (in the test kernel for rdynptr's own suites, in
        # rdynptr_kunit.ko) runs only those: not the kernel's built-in
        # suites at every boot.
        "kunit.filter_glob=rdynptr_*",
        # Reset by triple fault: the default first tries the keyboard
        # controller, which the machine does not have (seconds of retries).
        "reboot=t",
    ]
    if args.append:
        append.append(args.append)
    cmd = [
        args.qemu,
        "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none",
        # No PS/2 controller: the kernel's probe of its mouse port took
        # half a second of every boot under TCG.
        "-machine", "pc,i8042=off", "-accel", accel,
        "-cpu", "host" if accel == "kvm" else "max",
        # One CPU per socket: SeaBIOS's MP table (there is no ACPI in the
        # test kernel) lists only the first logical CPU of each package,
        # so "-smp 2" as two cores of one socket gave the guest one CPU.
        "-smp", "%d,sockets=%d,cores=1,threads=1" % (args.smp, args.smp),
        "-m", args.memory,
        "-kernel", args.kernel,
        "-append", " ".join(append),
        "-fsdev", "local,id=rootfs,path=%s,security_model=none,readonly=on,multidevs=remap"
        % args.root,
        "-device", "virtio-9p-pci,fsdev=rootfs,mount_tag=rootfs",
        "-fsdev", "local,id=run,path=%s,security_model=none,multidevs=remap" % rundir,
        "-device", "virtio-9p-pci,fsdev=run,mount_tag=run",
    ]
    if args.plugin:
        cmd += ["-plugin", args.plugin.replace("{out}", os.path.join(rundir, "out"))]
    if args.shell:
        cmd += ["-chardev", "stdio,id=con,mux=on,signal=off",
                "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"]
    else:
        cmd += ["-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
                "-chardev", "file,id=out,path=%s" % os.path.join(rundir, STDOUT_FILE),
                "-serial", "chardev:out"]
    return cmd


def set_pdeathsig():
    """In the child: die with the runner, whatever kills it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kernel", required=True, help="bzImage to boot")
    p.add_argument("--module", help="kernel module to insmod before the command")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--cmd", help="shell command to run in the guest")
    g.add_argument("--shell", action="store_true", help="interactive shell")
    p.add_argument("--cwd", default=os.getcwd(), help="working directory in the guest")
    p.add_argument("--timeout", type=float, default=300,
                   help="seconds before the guest is killed (default 300)")
    p.add_argument("--init", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "vm-init.sh"),
                   help="the guest's init, a path in its root")
    p.add_argument("--root", default="/",
                   help="directory that is the guest's root file system (default: "
                        "this one, the toolchain root); another root must hold "
                        "--init, a shell and the directories the init mounts on")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--memory", default="2G")
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto",
                   help="auto: KVM if a KVM guest boots on this host (probed once, "
                        "remembered in --verdict-dir), else TCG")
    p.add_argument("--verdict-dir",
                   help="directory that remembers whether KVM works on this host")
    p.add_argument("--append", help="extra kernel command line")
    p.add_argument("--plugin", metavar="SO[,ARG=VALUE...]",
                   help="QEMU TCG plugin to load (forces TCG); {out} in the "
                        "arguments stands for the guest's $RDYNPTR_OUT directory")
    p.add_argument("--env", action="append", default=[],
                   help="NAME=VALUE for the guest command (repeatable)")
    p.add_argument("--outdir",
                   help="host directory that receives the files the guest writes "
                        "to $RDYNPTR_OUT")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="full kernel console (loglevel 8)")
    args = p.parse_args()

    if not os.path.isfile(args.kernel):
        print("vm: no kernel image at %s" % args.kernel, file=sys.stderr)
        return EXIT_RUNNER
    if shutil.which(args.qemu) is None:
        print("vm: %s not found (run me through scripts/in-root)" % args.qemu,
              file=sys.stderr)
        return EXIT_RUNNER

    rundir = tempfile.mkdtemp(prefix="rdynptr-vm.", dir=os.environ.get("RDYNPTR_RUNDIR"))
    try:
        with open(os.path.join(rundir, CMD_FILE), "w") as f:
            f.write("RDYNPTR_CWD=%s\n" % shquote(args.cwd))
            f.write("RDYNPTR_MODULE=%s\n" % shquote(args.module or ""))
            f.write("RDYNPTR_SHELL=%d\n" % (1 if args.shell else 0))
            for kv in args.env:
                name, _, value = kv.partition("=")
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    print("vm: bad --env %r" % kv, file=sys.stderr)
                    return EXIT_RUNNER
                f.write("export %s=%s\n" % (name, shquote(value)))
            f.write("RDYNPTR_CMD=%s\n" % shquote(args.cmd or ""))
            os.mkdir(os.path.join(rundir, "out"))
            f.write("export RDYNPTR_OUT=%s\n"
                    % shquote(os.path.join(guest_rundir(args, rundir), "out")))
        try:
            return boot(args, rundir)
        finally:
            if args.outdir:
                os.makedirs(args.outdir, exist_ok=True)
                shutil.copytree(os.path.join(rundir, "out"), args.outdir, dirs_exist_ok=True)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def boot(args, rundir):
    accel = decide_accel(args)
    if args.accel == "auto" and accel == "kvm" and not args.plugin:
        # The probe said yes; should this boot still not start, fall back
        # and remember that KVM does not work after all.
        status = run(args, rundir, accel, kvm_trial=True)
        if status is not None:
            return status
        why = "KVM passed the probe but did not start this guest"
        print("vm: %s; falling back to TCG" % why, file=sys.stderr)
        if args.verdict_dir:
            remember_accel(os.path.join(args.verdict_dir, accel_key(args.qemu)), "tcg", why)
        accel = "tcg"
    return run(args, rundir, accel)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def run(args, rundir, accel, kvm_trial=False):
    """Boot the guest and return the exit status.  With kvm_trial, return
    None instead if QEMU dies at once without a console line (KVM present
    but unusable, e.g. unsupported MSRs under nested virtualization)."""
    cmd = qemu_cmdline(args, rundir, accel)
    if args.shell:
        print("vm: interactive shell; leave with 'exit' (or Ctrl-A x)", file=sys.stderr)
        proc = subprocess.Popen(cmd, preexec_fn=set_pdeathsig)
        if kvm_trial:
            try:
                if proc.wait(timeout=5) != 0:
                    return None     # QEMU could not start the guest with KVM
            except subprocess.TimeoutExpired:
                pass
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            kill(proc)
        return read_status(rundir, 0)

    print("vm: booting %s (%s, %d cpus, timeout %ds)" % (args.kernel, accel, args.smp,
                                                          args.timeout), file=sys.stderr)
    stderr = subprocess.PIPE if kvm_trial else None
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=stderr, preexec_fn=set_pdeathsig)
    if kvm_trial:
        # KVM can be present and still unusable (nested virtualization):
        # QEMU then dies at once, or the guest never prints a line.  The
        # guest's init prints one as soon as it starts.
        ready = select.select([proc.stdout], [], [], KVM_TRIAL_SECONDS)[0]
        if not ready or not proc.stdout.peek(1):    # nothing, or EOF
            kill(proc)
            return None
        # KVM works: pass QEMU's own messages on from here.
        threading.Thread(target=lambda: shutil.copyfileobj(proc.stderr, sys.stderr.buffer),
                         daemon=True).start()
    console = Console(proc.stdout, sys.stderr)
    console.start()
    done = threading.Event()
    copier = threading.Thread(target=copy_stdout,
                              args=(os.path.join(rundir, STDOUT_FILE), done,
                                    sys.stdout.buffer), daemon=True)
    copier.start()

    timed_out = False
    interrupted = False
    deadline = time.monotonic() + args.timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                break
            if console.crashed:
                # Give the kernel a moment to print the rest of the report
                # and reboot (panic=-1); then stop waiting.
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                break
            time.sleep(0.1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        kill(proc)
        console.join(5)
        done.set()
        copier.join(5)
        # The console beside what the guest wrote (--outdir: a CI job
        # keeps it as an artifact).
        with open(os.path.join(rundir, "out", "console.log"), "w") as f:
            f.write("".join(l + "\n" for l in console.lines))

    if interrupted:
        print("vm: interrupted", file=sys.stderr)
        return 130
    if console.first_problem is not None:
        print("\nvm: the kernel %s:" % ("crashed" if console.crashed else
                                        "reported a problem"), file=sys.stderr)
        for line in console.excerpt():
            print("vm: | " + line, file=sys.stderr)
        return EXIT_KERNEL_CRASH if console.crashed else EXIT_KERNEL_REPORT
    if timed_out:
        print("\nvm: timeout: the guest ran past %ds and was killed" % args.timeout,
              file=sys.stderr)
        return EXIT_TIMEOUT
    status = read_status(rundir, None)
    if status not in (0, EXIT_NO_STATUS):
        print("vm: the command exited with status %d" % status, file=sys.stderr)
    return status


def read_status(rundir, default):
    try:
        with open(os.path.join(rundir, STATUS_FILE)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        if default is not None:
            return default
        print("vm: the guest stopped without reporting an exit status", file=sys.stderr)
        return EXIT_NO_STATUS


def kill(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
