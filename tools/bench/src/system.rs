// SPDX-License-Identifier: GPL-2.0
//! The machine the numbers come from, and which kfuncs it has.

use crate::plan::{is_twin_kfunc, TWIN_MODULE};
use anyhow::{anyhow, bail};
use rdynptr_kernel::{is_module_kfunc, KernelBtf, CLONE_KFUNC, MODULE};
use serde::Serialize;
use std::fs;

/// What the table header and the JSON say about the machine.
#[derive(Debug, Clone, Serialize)]
pub struct SystemInfo {
    /// `uname -r`.
    pub kernel_release: String,
    /// /proc/version.
    pub kernel_version: String,
    /// /proc/sys/net/core/bpf_jit_enable (None if unreadable).
    pub bpf_jit_enable: Option<String>,
    /// "KVM", "TCG", another hypervisor's CPUID signature, or "none".
    pub hypervisor: String,
    pub cpu_model: Option<String>,
    /// /sys/devices/system/cpu/online, e.g. "0-1".
    pub online_cpus: String,
    /// The clocksource BPF_PROG_TEST_RUN's durations come from.
    pub clocksource: String,
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

impl SystemInfo {
    pub fn probe() -> SystemInfo {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        SystemInfo {
            kernel_release: read_trimmed("/proc/sys/kernel/osrelease")
                .unwrap_or_else(|| "unknown".into()),
            kernel_version: read_trimmed("/proc/version").unwrap_or_else(|| "unknown".into()),
            bpf_jit_enable: read_trimmed("/proc/sys/net/core/bpf_jit_enable"),
            hypervisor: hypervisor(),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned()),
            online_cpus: read_trimmed("/sys/devices/system/cpu/online")
                .unwrap_or_else(|| "unknown".into()),
            clocksource: read_trimmed(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// "N (LIST)": how many CPUs are online, and which.
    pub fn cpus_text(&self) -> String {
        match count_cpus(&self.online_cpus) {
            Some(n) => format!("{n} online ({})", self.online_cpus),
            None => format!("online: {}", self.online_cpus),
        }
    }

    /// "on" / "off" / "on (hardened ...)" from bpf_jit_enable.
    pub fn jit_text(&self) -> String {
        match self.bpf_jit_enable.as_deref() {
            Some("0") => "off (bpf_jit_enable=0)".into(),
            Some(v) => format!("on (bpf_jit_enable={v})"),
            None => "unknown (no /proc/sys/net/core/bpf_jit_enable)".into(),
        }
    }

    /// Whether the clock ticks only every jiffy: then a duration is only
    /// good to a few ms, and a test run must last far longer than that.
    pub fn coarse_clock(&self) -> bool {
        self.clocksource.contains("jiffies")
    }

    /// Whether the times are those of an emulated CPU.
    pub fn emulated(&self) -> bool {
        self.hypervisor == "TCG"
    }
}

/// The number of CPUs in a sysfs CPU list such as "0-3,5".
fn count_cpus(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.trim().split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()?.checked_sub(a.parse().ok()?)? + 1,
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    Some(n)
}

/// The hypervisor, from its CPUID signature (leaf 0x40000000): QEMU's TCG
/// says "TCGTCGTCGTCG", KVM "KVMKVMKVM".
#[cfg(target_arch = "x86_64")]
fn hypervisor() -> String {
    use std::arch::x86_64::__cpuid;

    // SAFETY: CPUID exists on every x86-64 CPU; leaf 1 is always valid.
    let leaf1 = unsafe { __cpuid(1) };
    if leaf1.ecx & (1 << 31) == 0 {
        return "none".into();
    }
    // SAFETY: as above; with the hypervisor bit set, leaf 0x40000000 is the
    // hypervisor's signature leaf.
    let hv = unsafe { __cpuid(0x4000_0000) };
    let mut sig = Vec::with_capacity(12);
    for r in [hv.ebx, hv.ecx, hv.edx] {
        sig.extend_from_slice(&r.to_le_bytes());
    }
    hypervisor_name(&sig)
}

#[cfg(not(target_arch = "x86_64"))]
fn hypervisor() -> String {
    "unknown".into()
}

fn hypervisor_name(sig: &[u8]) -> String {
    let s: String = sig
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    match s.as_str() {
        "TCGTCGTCGTCG" => "TCG".into(),
        "KVMKVMKVM" => "KVM".into(),
        "" => "unknown".into(),
        _ => s,
    }
}

/// The kfuncs of the running kernel: FUNC entries in the BTF of vmlinux and
/// of its modules (a kfunc needs a BTF FUNC; a kfunc the module was built
/// without has none): the rdynptr module's, the C twins' (module
/// rdynptr_twin) and the kernel's own.
pub struct KernelFuncs(KernelBtf);

impl KernelFuncs {
    pub fn probe() -> KernelFuncs {
        KernelFuncs(KernelBtf::load())
    }

    /// Ok if `kfunc` exists in the running kernel, else why not.
    pub fn check(&self, kfunc: &str) -> anyhow::Result<()> {
        if let Some(e) = self.0.unavailable() {
            bail!("{e}");
        }
        let ours = is_module_kfunc(kfunc);
        let twin = is_twin_kfunc(kfunc);
        match self.0.func_owner(kfunc) {
            Some(Some(m)) if ours && m == MODULE => Ok(()),
            Some(Some(m)) if twin && m == TWIN_MODULE => Ok(()),
            Some(None) if !ours && !twin => Ok(()),
            _ if twin => Err(anyhow!(
                "{kfunc} is not in the running kernel (the {TWIN_MODULE} module of \
                 tools/bench/twin is not loaded, or was built for a kernel without what \
                 this kfunc needs)"
            )),
            _ if kfunc == CLONE_KFUNC => Err(anyhow!(
                "{kfunc} is not in the running kernel: the {MODULE} module was built for a \
                 kernel without KF_DYNPTR_CLONE, or is not loaded"
            )),
            _ if ours => Err(anyhow!(
                "{kfunc} is not in the running kernel (the {MODULE} module is not loaded, \
                 or has no BTF FUNC of it)"
            )),
            _ => Err(anyhow!(
                "{kfunc} is not in the running kernel (no BTF FUNC in vmlinux)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpus("0"), Some(1));
        assert_eq!(count_cpus("0-1"), Some(2));
        assert_eq!(count_cpus("0,2-3\n"), Some(3));
        assert_eq!(count_cpus("unknown"), None);
        assert_eq!(count_cpus("3-1"), None);
    }

    #[test]
    fn hypervisor_signatures() {
        assert_eq!(hypervisor_name(b"TCGTCGTCGTCG"), "TCG");
        assert_eq!(hypervisor_name(b"KVMKVMKVM\0\0\0"), "KVM");
        assert_eq!(hypervisor_name(b"Microsoft Hv"), "Microsoft Hv");
        assert_eq!(hypervisor_name(b"\0\0\0\0"), "unknown");
    }
}
