//! The checks both attributes make of a signature, each with one wording,
//! parametrised by the attribute.

use syn::{PatType, ReturnType, Signature, Type};

use crate::errors::Errors;
use crate::types::{Role, check_owned, is_context, tokens};

/// The attribute being expanded, as messages name it.
pub(crate) struct Attr {
    /// The attribute's path, `graceful::main`.
    pub(crate) path: &'static str,
    /// The annotated function in a sentence: "`main`", "a task".
    pub(crate) subject: &'static str,
    /// Said after "write `ctx: Context`" when the `Context` is borrowed.
    pub(crate) by_value_note: &'static str,
}

/// Reports `const`, a missing `async`, `unsafe`, an ABI and `...`.
pub(crate) fn check_qualifiers(sig: &Signature, attr: &Attr, errors: &mut Errors) {
    let subject = attr.subject;
    if let Some(c) = &sig.constness {
        errors.at(
            c,
            format!("{subject} cannot be a `const fn`: remove `const`"),
        );
    }
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            format!(
                "`#[{}]` needs an `async fn`: write `async fn {}`",
                attr.path, sig.ident
            ),
        );
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.at(
            u,
            format!(
                "{subject} cannot be an `unsafe fn`: remove `unsafe` and put the unsafe code in an `unsafe {{ ... }}` block"
            ),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            format!("{subject} cannot have an ABI: remove `{}`", tokens(abi)),
        );
    }
    if let Some(v) = &sig.variadic {
        errors.at(v, format!("{subject} cannot be variadic: remove `...`"));
    }
}

/// Reports `-> !` and an output that borrows.
pub(crate) fn check_output(sig: &Signature, attr: &Attr, errors: &mut Errors) {
    let ReturnType::Type(_, ty) = &sig.output else {
        return;
    };
    match &**ty {
        Type::Never(never) => errors.at(
            never,
            format!(
                "{} cannot return `!`: remove `-> !` (shutdown waits for it to end: return `()` once cancelled)",
                attr.subject
            ),
        ),
        ty => check_owned(ty, Role::Output(attr.subject), errors),
    }
}

/// Reports `ctx: &Context`; whether `param` is one.
pub(crate) fn borrowed_context(param: &PatType, attr: &Attr, errors: &mut Errors) -> bool {
    let Type::Reference(r) = &*param.ty else {
        return false;
    };
    if !is_context(&r.elem) {
        return false;
    }
    errors.at(
        &param.ty,
        format!(
            "{} takes its `Context` by value: write `{}: {}`{}",
            attr.subject,
            tokens(&param.pat),
            tokens(&r.elem),
            attr.by_value_note
        ),
    );
    true
}
