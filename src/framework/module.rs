// SPDX-License-Identifier: GPL-2.0

//! [`module_compat!`](crate::module_compat): `module!` across kernel series.

/// `kernel::prelude::module!` with the module's author, written the way the
/// kernel the module is built against wants it: `authors: [...]` (newer
/// kernels) or `author: "..."` (6.12). Kbuild sets
/// `--cfg rdynptr_module_authors` when the tree's `module!` takes `authors`.
///
/// ```ignore
/// rdynptr::module_compat! {
///     type: MyModule,
///     name: "my_module",
///     author: "Jane Doe",
///     description: "My kfuncs",
///     license: "GPL",
/// }
/// ```
#[macro_export]
macro_rules! module_compat {
    (type: $type:ident, name: $name:tt, author: $author:tt, $($rest:tt)*) => {
        #[cfg(rdynptr_module_authors)]
        kernel::prelude::module! { type: $type, name: $name, authors: [$author], $($rest)* }
        #[cfg(not(rdynptr_module_authors))]
        kernel::prelude::module! { type: $type, name: $name, author: $author, $($rest)* }
    };
}
