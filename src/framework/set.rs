// SPDX-License-Identifier: GPL-2.0

//! Kfunc sets: the `BTF_KFUNCS_START()` / `BTF_ID_FLAGS()` / `BTF_KFUNCS_END()`
//! tables of [`include/linux/btf_ids.h`](srctree/include/linux/btf_ids.h),
//! emitted from Rust by [`kfunc_set!`](crate::kfunc_set).
//!
//! How the table is laid out and how `resolve_btfids` fills it in at link
//! time: `Documentation/kfuncs-in-rust.rst`, "5. The kfunc set table" (the
//! one place that explains it).

use kernel::bindings;

use super::KfFlags;

/// One kfunc of a [`KfuncSet`].
#[derive(Clone, Copy, Debug)]
pub struct KfuncEntry {
    name: &'static str,
    flags: KfFlags,
    enabled: bool,
}

impl KfuncEntry {
    #[doc(hidden)]
    pub const fn new(name: &'static str, (enabled, flags): (bool, KfFlags)) -> Self {
        Self {
            name,
            flags,
            enabled,
        }
    }

    /// The kfunc's name: the name of its C entry point and BTF FUNC.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The kfunc's flags.
    pub const fn flags(&self) -> KfFlags {
        self.flags
    }

    /// Whether the kfunc is in this build of the set (its `#[cfg(...)]`
    /// condition, if any, holds).
    pub const fn enabled(&self) -> bool {
        self.enabled
    }
}

/// A kfunc set declared with [`kfunc_set!`](crate::kfunc_set).
///
/// Register it with [`KfuncSetRegistration`](super::KfuncSetRegistration).
pub struct KfuncSet {
    name: &'static str,
    table: *const bindings::btf_id_set8,
    entries: &'static [KfuncEntry],
}

// SAFETY: `table` points to the set table in `.BTF_ids`, which is never
// written after the module is loaded (the section is not even writable);
// everything else is shared immutable data.
unsafe impl Sync for KfuncSet {}

impl KfuncSet {
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        table: *const bindings::btf_id_set8,
        entries: &'static [KfuncEntry],
    ) -> Self {
        // A kfunc listed twice is caught by `kfunc_set!` itself (a
        // "defined multiple times" error naming it).
        Self {
            name,
            table,
            entries,
        }
    }

    /// The set's name (the name of its table in `.BTF_ids`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The kfuncs of the set, including those whose `#[cfg(...)]` condition
    /// does not hold in this build (see [`KfuncEntry::enabled`]).
    pub const fn entries(&self) -> &'static [KfuncEntry] {
        self.entries
    }

    /// The number of kfuncs in this build of the set.
    pub const fn len(&self) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].enabled {
                // `n <= i`: no overflow (and no overflow check, which could
                // panic).
                n = usize::wrapping_add(n, 1);
            }
            i += 1;
        }
        n
    }

    /// Whether this build of the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this build of the set contains the kfunc `name`; usable in
    /// constant expressions (the build's header checks use it).
    pub const fn contains(&self, name: &str) -> bool {
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].enabled && str_eq(self.entries[i].name, name) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The `struct btf_id_set8` table, for `struct btf_kfunc_id_set`.
    pub(crate) fn table(&self) -> *mut bindings::btf_id_set8 {
        // The kernel's `struct btf_kfunc_id_set` has a non-const pointer but
        // only reads the table.
        self.table.cast_mut()
    }
}

/// `a == b` in constant expressions.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a kfunc set: the Rust equivalent of
///
/// ```c
/// BTF_KFUNCS_START(NAME)
/// BTF_ID_FLAGS(func, bpf_foo)
/// BTF_ID_FLAGS(func, bpf_bar, KF_ACQUIRE | KF_RET_NULL)
/// BTF_KFUNCS_END(NAME)
/// ```
///
/// written as
///
/// ```ignore
/// kfunc_set! {
///     /// Documentation of the set.
///     pub static NAME = {
///         bpf_foo,
///         bpf_bar: ACQUIRE | RET_NULL,
///         #[cfg(some_cfg)]
///         bpf_baz: SLEEPABLE,
///     };
/// }
/// ```
///
/// Each entry names a kfunc defined with [`kfunc!`](crate::framework) in scope,
/// optionally followed by `:` and its flags, the names of [`KfFlags`]
/// constants joined by `|`. An entry may carry a `#[cfg(...)]` attribute:
/// when it does not hold, the kfunc is left out of the table.
///
/// The macro emits the table into `.BTF_ids` as the C macros do (see
/// `Documentation/kfuncs-in-rust.rst`, "5. The kfunc set table"), and
/// defines `static NAME: KfuncSet` to register it with
/// [`KfuncSetRegistration`](crate::framework::KfuncSetRegistration). `NAME`
/// must be unique in the module.
///
/// [`KfFlags`]: crate::framework::KfFlags
#[macro_export]
macro_rules! kfunc_set {
    // `(enabled, flags)` of an entry. The flags of an entry whose `#[cfg]`
    // does not hold are not evaluated: they may not exist in this build.
    (@entry [] [$($flag:ident)|*]) => {
        (true, $crate::framework::KfFlags::NONE $(.with($crate::framework::KfFlags::$flag))*)
    };
    (@entry [$($cfg:tt)+] [$($flag:ident)|*]) => {{
        #[cfg($($cfg)+)]
        const ENTRY: (bool, $crate::framework::KfFlags) =
            (true, $crate::framework::KfFlags::NONE $(.with($crate::framework::KfFlags::$flag))*);
        #[cfg(not($($cfg)+))]
        const ENTRY: (bool, $crate::framework::KfFlags) = (false, $crate::framework::KfFlags::NONE);
        ENTRY
    }};
    (
        $(#[$attr:meta])*
        $vis:vis static $set:ident = {
            $(
                $(#[cfg($($cfg:tt)+)])?
                $kfunc:ident $(: $($flag:ident)|+)?
            ),* $(,)?
        };
    ) => {
        // The table, as `BTF_KFUNCS_START()`, `BTF_ID_FLAGS()` and
        // `BTF_KFUNCS_END()` of include/linux/btf_ids.h emit it. The assembler
        // macro gives each entry symbol a unique suffix (`\@`, the number of
        // macro expansions so far) like `__COUNTER__` does in C, and drops the
        // entries whose `#[cfg]` does not hold.
        ::core::arch::global_asm!(
            ".pushsection .BTF_ids,\"a\"",
            ".balign 4",
            ::core::concat!(".local ", ::core::stringify!($set)),
            ::core::concat!(::core::stringify!($set), ":"),
            ::core::concat!(".local __BTF_ID__set8__", ::core::stringify!($set)),
            ::core::concat!("__BTF_ID__set8__", ::core::stringify!($set), ":"),
            ".zero 4",
            ".long {set8_flags}",
            ::core::concat!(
                ".macro __kfunc_set_entry_", ::core::stringify!($set),
                " name:req, flags:req, enabled:req"
            ),
            ".if \\enabled",
            ".local __BTF_ID__func__\\name\\()__\\@",
            ".type __BTF_ID__func__\\name\\()__\\@, STT_OBJECT",
            ".size __BTF_ID__func__\\name\\()__\\@, 4",
            "__BTF_ID__func__\\name\\()__\\@:",
            ".zero 4",
            ".long \\flags",
            ".endif",
            ".endm",
            $(
                ::core::concat!(
                    "__kfunc_set_entry_", ::core::stringify!($set), " ",
                    ::core::stringify!($kfunc), ", {}, {}"
                ),
            )*
            ::core::concat!(".purgem __kfunc_set_entry_", ::core::stringify!($set)),
            ::core::concat!(
                ".size __BTF_ID__set8__", ::core::stringify!($set), ", . - ",
                ::core::stringify!($set)
            ),
            ".popsection",
            $(
                const $crate::kfunc_set!(@entry [$($($cfg)+)?] [$($($flag)|+)?]).1.bits(),
                const $crate::kfunc_set!(@entry [$($($cfg)+)?] [$($($flag)|+)?]).0 as u32,
            )*
            set8_flags = const ::kernel::bindings::BTF_SET8_KFUNCS,
            options(att_syntax)
        );

        // Every enabled entry must be a kfunc defined in Rust.
        $(
            $(#[cfg($($cfg)+)])?
            const _: () = {
                let _ = $kfunc;
            };
        )*
        // A kfunc listed twice is an error naming it ("defined multiple times").
        const _: () = {
            $(
                $(#[cfg($($cfg)+)])?
                #[allow(non_upper_case_globals, dead_code)]
                const $kfunc: () = ();
            )*
        };

        $(#[$attr])*
        $vis static $set: $crate::framework::KfuncSet = {
            extern "C" {
                // The table emitted above (a local symbol of this object).
                static $set: ::kernel::bindings::btf_id_set8;
            }
            $crate::framework::KfuncSet::new(
                ::core::stringify!($set),
                &raw const $set,
                &[$(
                    $crate::framework::KfuncEntry::new(
                        ::core::stringify!($kfunc),
                        $crate::kfunc_set!(@entry [$($($cfg)+)?] [$($($flag)|+)?]),
                    ),
                )*],
            )
        };
    };
}
