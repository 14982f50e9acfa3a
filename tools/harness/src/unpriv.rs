// SPDX-License-Identifier: GPL-2.0
//! The unprivileged mode of tests (the `_unpriv` annotations): what
//! test_loader.c does around loading such a test.

use anyhow::Context as _;
use caps::{CapSet, Capability};

/// The capabilities test_loader drops for the unprivileged mode.
const DROPPED: [Capability; 4] = [
    Capability::CAP_SYS_ADMIN,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_PERFMON,
    Capability::CAP_BPF,
];

/// Why unprivileged tests cannot run here, if they cannot:
/// `kernel.unprivileged_bpf_disabled` is not 0.  Read once per run, as
/// test_loader.c does (no test changes it).
pub fn disabled() -> Option<String> {
    static WHY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    WHY.get_or_init(|| {
        let path = "/proc/sys/kernel/unprivileged_bpf_disabled";
        match std::fs::read_to_string(path) {
            Ok(v) if v.trim() == "0" => None,
            Ok(v) => Some(format!(
                "unprivileged BPF is disabled (kernel.unprivileged_bpf_disabled = {})",
                v.trim()
            )),
            Err(e) => Some(format!("cannot read {path}: {e}")),
        }
    })
    .clone()
}

/// The calling thread without CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON
/// and CAP_BPF in its effective set, but with those of `keep` (bit
/// numbers, from __caps_unpriv); the effective set is restored on drop.
/// Capabilities are per thread: other test threads keep theirs.
pub struct Unprivileged {
    saved: caps::CapsHashSet,
}

impl Unprivileged {
    pub fn enter(keep: u64) -> anyhow::Result<Unprivileged> {
        let saved = caps::read(None, CapSet::Effective).context("reading the capabilities")?;
        let guard = Unprivileged { saved };
        for c in DROPPED {
            caps::drop(None, CapSet::Effective, c).with_context(|| format!("dropping {c}"))?;
        }
        for c in caps::all() {
            if c.index() < 64 && keep & (1u64 << c.index()) != 0 {
                caps::raise(None, CapSet::Effective, c)
                    .with_context(|| format!("keeping {c} (__caps_unpriv)"))?;
            }
        }
        Ok(guard)
    }
}

impl Drop for Unprivileged {
    fn drop(&mut self) {
        // The permitted set is untouched, so this cannot fail for want of
        // privileges; there is nothing to do if it fails anyway.
        let _ = caps::set(None, CapSet::Effective, &self.saved);
    }
}

/// Whether test_loader creates a map of this type in the unprivileged
/// mode (is_unpriv_capable_map()); the others are not created, and a
/// program that uses one fails to load, as in test_progs.
pub fn map_allowed(map_type: libbpf_rs::MapType, map_flags: u32) -> bool {
    use libbpf_rs::MapType as T;
    match map_type {
        T::Hash | T::PercpuHash | T::HashOfMaps => {
            map_flags & libbpf_rs::libbpf_sys::BPF_F_ZERO_SEED == 0
        }
        T::PercpuCgroupStorage
        | T::Array
        | T::RingBuf
        | T::ProgArray
        | T::CgroupArray
        | T::PercpuArray
        | T::UserRingBuf
        | T::ArrayOfMaps
        | T::CgroupStorage
        | T::PerfEventArray => true,
        _ => false,
    }
}
