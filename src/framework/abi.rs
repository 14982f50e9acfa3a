// SPDX-License-Identifier: GPL-2.0

//! How a Rust kfunc receives its arguments and returns its value.
//!
//! A kfunc is called by BPF programs through its C entry point with C
//! arguments. [`kfunc!`](crate::framework) wraps a safe Rust function into an
//! `extern "C"` function with the C types: each argument type implements
//! [`KfuncArg`], which names its C type and turns the C value into the Rust
//! one; the return type implements [`KfuncRet`]. The unsafe part, trusting
//! what the verifier checked, lives in the [`KfuncArg`] implementations.

/// A type a kfunc can take as an argument.
///
/// # Safety
///
/// [`KfuncArg::Abi`] must be the Rust equivalent of the C type the kfunc's
/// prototype uses for such an argument, and the verifier must guarantee, for
/// any argument of that C type, what [`KfuncArg::from_abi`] relies on.
pub unsafe trait KfuncArg: Sized {
    /// The argument's C type.
    type Abi;

    /// Turns the C argument into the Rust one.
    ///
    /// # Safety
    ///
    /// `abi` must be an argument of a kfunc call by a BPF program that the
    /// verifier accepted, and the returned value must not outlive the call.
    unsafe fn from_abi(abi: Self::Abi) -> Self;
}

macro_rules! scalar_args {
    ($($t:ty),*) => {$(
        // SAFETY: A scalar is passed as itself and any value is valid.
        unsafe impl KfuncArg for $t {
            type Abi = $t;

            unsafe fn from_abi(abi: $t) -> $t {
                abi
            }
        }
    )*};
}

scalar_args!(u8, u16, u32, u64, i8, i16, i32, i64);

/// A type a kfunc can return.
pub trait KfuncRet {
    /// The C return type.
    type Abi;

    /// Turns the Rust value into the C one.
    fn into_abi(self) -> Self::Abi;
}

macro_rules! scalar_rets {
    ($($t:ty),*) => {$(
        impl KfuncRet for $t {
            type Abi = $t;

            fn into_abi(self) -> $t {
                self
            }
        }
    )*};
}

scalar_rets!((), bool, u8, u16, u32, u64, i8, i16, i32, i64);

/// A pointer the kfunc returns, or NULL (for kfuncs with `KF_RET_NULL`).
///
/// The reference must be to memory the program may use after the call
/// under the rules the verifier applies to the kfunc's return type (for
/// an iterator's `next`, memory inside the iterator on the program's
/// stack).
impl<T> KfuncRet for Option<&mut T> {
    type Abi = *mut T;

    fn into_abi(self) -> *mut T {
        self.map_or(core::ptr::null_mut(), |r| r)
    }
}

/// Defines kfuncs in Rust.
///
/// ```ignore
/// kfunc! {
///     /// Documentation.
///     pub fn bpf_foo(p: DynptrRef<'_>, len: u64) -> i32 {
///         // safe Rust
///     }
/// }
/// ```
///
/// For each function, this defines an `unsafe extern "C" fn bpf_foo` with
/// the C types of the arguments ([`KfuncArg::Abi`]) and of the return value
/// ([`KfuncRet::Abi`]), exported as `rust_bpf_foo`: the symbol the kfunc's
/// generated C entry point calls. The body stays safe Rust. Arguments are
/// plain identifiers (no patterns, no `mut`; rebind with `let` if needed).
/// Attributes (documentation, `#[cfg(...)]`) go on the generated function.
///
/// The build checks the generated function's type against the prototype
/// in `include/rdynptr/kfuncs.h`; see `Documentation/kfuncs-in-rust.rst`.
#[macro_export]
macro_rules! kfunc {
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$attr])*
        ///
        /// # Safety
        ///
        /// Only the kfunc's C entry point calls this, with the arguments of a
        /// call the verifier accepted.
        #[export_name = ::core::concat!("rust_", ::core::stringify!($name))]
        $vis unsafe extern "C" fn $name(
            $($arg: <$ty as $crate::framework::KfuncArg>::Abi),*
        ) -> <$crate::kfunc!(@ret $($ret)?) as $crate::framework::KfuncRet>::Abi {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            $crate::framework::KfuncRet::into_abi(body($(
                // SAFETY: The caller passes the arguments of a call the
                // verifier accepted; they do not outlive this call.
                unsafe { <$ty as $crate::framework::KfuncArg>::from_abi($arg) }
            ),*))
        }
    )*};
}
