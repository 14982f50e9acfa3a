// SPDX-License-Identifier: GPL-2.0

//! BPF program types, as `register_btf_kfunc_id_set()` sees them.

use kernel::bindings;

use super::set::str_eq;

macro_rules! prog_types {
    ($($(#[doc = $doc:literal])* $(#[cfg($cfg:meta)])?
       $variant:ident = $raw:ident => $hook:ident,)*) => {
        /// A BPF program type a kfunc set can be registered for.
        ///
        /// The kernel does not keep one kfunc table per program type but one
        /// per *hook*, and several program types share a hook (for example
        /// all tracing-like types, see [`ProgType::kfunc_hook`]).
        /// [`KfuncSetRegistration`](super::KfuncSetRegistration) registers a
        /// set once per hook; registering it twice for one hook is an error
        /// in the kernel.
        ///
        /// Program types whose hook is newer than some supported kernel
        /// series exist only where the kernel has the hook (Kbuild's
        /// `--cfg rdynptr_hook_<type>`).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u32)]
        pub enum ProgType {
            $($(#[doc = $doc])* $(#[cfg($cfg)])? $variant = bindings::$raw,)*
        }

        impl ProgType {
            /// Every program type that has a kfunc hook.
            pub const ALL: &'static [ProgType] = &[$($(#[cfg($cfg)])? ProgType::$variant,)*];

            /// The kernel's name of the program type (`BPF_PROG_TYPE_*`).
            pub const fn name(self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? ProgType::$variant => {
                        const PREFIX: usize = "bpf_prog_type_".len();
                        let (_, name) = ::core::stringify!($raw).as_bytes().split_at(PREFIX);
                        match ::core::str::from_utf8(name) {
                            Ok(name) => name,
                            Err(_) => "",
                        }
                    })*
                }
            }

            /// The kfunc hook the kernel files the program type under
            /// (`bpf_prog_type_to_kfunc_hook()` in
            /// [`kernel/bpf/btf.c`](srctree/kernel/bpf/btf.c)).
            pub const fn kfunc_hook(self) -> KfuncHook {
                match self {
                    $($(#[cfg($cfg)])? ProgType::$variant => KfuncHook::$hook,)*
                }
            }
        }
    };
}

prog_types! {
    /// `BPF_PROG_TYPE_UNSPEC`: registers for every program type at once
    /// (the kernel's "common" hook, used for its own dynptr kfuncs).
    Any = bpf_prog_type_BPF_PROG_TYPE_UNSPEC => Common,
    /// Socket filters.
    SocketFilter = bpf_prog_type_BPF_PROG_TYPE_SOCKET_FILTER => SocketFilter,
    /// Kprobes and uprobes.
    Kprobe = bpf_prog_type_BPF_PROG_TYPE_KPROBE => Kprobe,
    /// tc classifiers (`SEC("tc")`, `SEC("tcx/...")`).
    SchedCls = bpf_prog_type_BPF_PROG_TYPE_SCHED_CLS => Tc,
    /// tc actions.
    SchedAct = bpf_prog_type_BPF_PROG_TYPE_SCHED_ACT => SchedAct,
    /// Tracepoints (`SEC("tracepoint/...")`).
    Tracepoint = bpf_prog_type_BPF_PROG_TYPE_TRACEPOINT => Tracing,
    /// XDP.
    Xdp = bpf_prog_type_BPF_PROG_TYPE_XDP => Xdp,
    /// Perf events.
    PerfEvent = bpf_prog_type_BPF_PROG_TYPE_PERF_EVENT => Tracing,
    /// cgroup skb filters.
    CgroupSkb = bpf_prog_type_BPF_PROG_TYPE_CGROUP_SKB => Cgroup,
    /// cgroup socket creation hooks.
    CgroupSock = bpf_prog_type_BPF_PROG_TYPE_CGROUP_SOCK => Cgroup,
    /// Lightweight tunnels, input.
    LwtIn = bpf_prog_type_BPF_PROG_TYPE_LWT_IN => Lwt,
    /// Lightweight tunnels, output.
    LwtOut = bpf_prog_type_BPF_PROG_TYPE_LWT_OUT => Lwt,
    /// Lightweight tunnels, transmit.
    LwtXmit = bpf_prog_type_BPF_PROG_TYPE_LWT_XMIT => Lwt,
    /// Socket operations.
    #[cfg(rdynptr_hook_sock_ops)]
    SockOps = bpf_prog_type_BPF_PROG_TYPE_SOCK_OPS => Cgroup,
    /// sk_skb stream parsers and verdicts.
    SkSkb = bpf_prog_type_BPF_PROG_TYPE_SK_SKB => SkSkb,
    /// cgroup device access control.
    CgroupDevice = bpf_prog_type_BPF_PROG_TYPE_CGROUP_DEVICE => Cgroup,
    /// Raw tracepoints (`SEC("raw_tp/...")`).
    #[cfg(rdynptr_hook_raw_tracepoint)]
    RawTracepoint = bpf_prog_type_BPF_PROG_TYPE_RAW_TRACEPOINT => Tracing,
    /// cgroup socket address hooks.
    CgroupSockAddr = bpf_prog_type_BPF_PROG_TYPE_CGROUP_SOCK_ADDR => Cgroup,
    /// Lightweight tunnels, seg6local.
    LwtSeg6local = bpf_prog_type_BPF_PROG_TYPE_LWT_SEG6LOCAL => Lwt,
    /// cgroup sysctl hooks.
    CgroupSysctl = bpf_prog_type_BPF_PROG_TYPE_CGROUP_SYSCTL => Cgroup,
    /// cgroup socket option hooks.
    CgroupSockopt = bpf_prog_type_BPF_PROG_TYPE_CGROUP_SOCKOPT => Cgroup,
    /// BTF-enabled tracing: fentry/fexit/fmod_ret, `tp_btf`, iterators.
    Tracing = bpf_prog_type_BPF_PROG_TYPE_TRACING => Tracing,
    /// struct_ops implementations.
    StructOps = bpf_prog_type_BPF_PROG_TYPE_STRUCT_OPS => StructOps,
    /// LSM hooks.
    Lsm = bpf_prog_type_BPF_PROG_TYPE_LSM => Tracing,
    /// `BPF_PROG_RUN`-only syscall programs.
    Syscall = bpf_prog_type_BPF_PROG_TYPE_SYSCALL => Syscall,
    /// Netfilter hooks.
    Netfilter = bpf_prog_type_BPF_PROG_TYPE_NETFILTER => Netfilter,
}

const _: () = {
    assert!(str_eq(ProgType::Any.name(), "BPF_PROG_TYPE_UNSPEC"));
    assert!(str_eq(
        ProgType::LwtSeg6local.name(),
        "BPF_PROG_TYPE_LWT_SEG6LOCAL"
    ));
};

/// A kfunc hook: the table of the kernel a program type's kfuncs are looked
/// up in (`enum btf_kfunc_hook`, private to `kernel/bpf/btf.c`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KfuncHook {
    /// `BTF_KFUNC_HOOK_COMMON`: consulted for every program type.
    Common,
    /// `BTF_KFUNC_HOOK_XDP`.
    Xdp,
    /// `BTF_KFUNC_HOOK_TC`.
    Tc,
    /// `BTF_KFUNC_HOOK_STRUCT_OPS`.
    StructOps,
    /// `BTF_KFUNC_HOOK_TRACING`.
    Tracing,
    /// `BTF_KFUNC_HOOK_SYSCALL`.
    Syscall,
    /// `BTF_KFUNC_HOOK_CGROUP`.
    Cgroup,
    /// `BTF_KFUNC_HOOK_SCHED_ACT`.
    SchedAct,
    /// `BTF_KFUNC_HOOK_SK_SKB`.
    SkSkb,
    /// `BTF_KFUNC_HOOK_SOCKET_FILTER`.
    SocketFilter,
    /// `BTF_KFUNC_HOOK_LWT`.
    Lwt,
    /// `BTF_KFUNC_HOOK_NETFILTER`.
    Netfilter,
    /// `BTF_KFUNC_HOOK_KPROBE`.
    Kprobe,
}

impl KfuncHook {
    /// The kernel's name of the hook.
    pub const fn name(self) -> &'static str {
        match self {
            KfuncHook::Common => "BTF_KFUNC_HOOK_COMMON",
            KfuncHook::Xdp => "BTF_KFUNC_HOOK_XDP",
            KfuncHook::Tc => "BTF_KFUNC_HOOK_TC",
            KfuncHook::StructOps => "BTF_KFUNC_HOOK_STRUCT_OPS",
            KfuncHook::Tracing => "BTF_KFUNC_HOOK_TRACING",
            KfuncHook::Syscall => "BTF_KFUNC_HOOK_SYSCALL",
            KfuncHook::Cgroup => "BTF_KFUNC_HOOK_CGROUP",
            KfuncHook::SchedAct => "BTF_KFUNC_HOOK_SCHED_ACT",
            KfuncHook::SkSkb => "BTF_KFUNC_HOOK_SK_SKB",
            KfuncHook::SocketFilter => "BTF_KFUNC_HOOK_SOCKET_FILTER",
            KfuncHook::Lwt => "BTF_KFUNC_HOOK_LWT",
            KfuncHook::Netfilter => "BTF_KFUNC_HOOK_NETFILTER",
            KfuncHook::Kprobe => "BTF_KFUNC_HOOK_KPROBE",
        }
    }
}

impl ProgType {
    /// The raw `enum bpf_prog_type` value.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// Whether the mapping of program types to hooks above is the one of the
    /// kernel, given as (program type, hook name) pairs read from
    /// `bpf_prog_type_to_kfunc_hook()` by the build (both directions: every
    /// pair is mirrored, and every mirrored type is in the kernel's list).
    #[doc(hidden)]
    pub const fn matches_kernel_hooks(kernel: &[(u32, &str)]) -> bool {
        let mut i = 0;
        while i < kernel.len() {
            let (raw, hook) = kernel[i];
            let mut found = false;
            let mut j = 0;
            while j < Self::ALL.len() {
                let t = Self::ALL[j];
                if t.raw() == raw {
                    if !str_eq(t.kfunc_hook().name(), hook) {
                        return false;
                    }
                    found = true;
                }
                j += 1;
            }
            if !found {
                return false;
            }
            i += 1;
        }
        Self::ALL.len() == kernel.len()
    }
}
