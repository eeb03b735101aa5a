//! Safe wrappers around the few Windows API calls the agent makes itself (`windows-sys`).
//! The only place in the agent that allows `unsafe`: each call states why it is sound.
#![allow(unsafe_code)]

pub mod acl;
pub mod cpu;
pub mod dpapi;
pub mod eventlog;

/// A Rust string as the NUL-terminated UTF-16 the `…W` functions take.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Whether this process runs under Wine (its ntdll exports `wine_get_version`): the tests
/// that only a real Windows can confirm say so rather than pass on Wine's approximations.
#[cfg(test)]
pub fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll = wide("ntdll.dll");
    // SAFETY: both names are NUL-terminated; ntdll is loaded in every process.
    unsafe {
        let module = GetModuleHandleW(ntdll.as_ptr());
        !module.is_null() && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
    }
}
