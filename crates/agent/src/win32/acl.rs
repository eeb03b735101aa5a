//! The service's state directory restricted to SYSTEM and Administrators: a protected DACL
//! (nothing inherited from `C:\ProgramData`, where every user may read) granting full control
//! to those two and to no one else, inherited by what is created inside.

use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, SDDL_REVISION_1,
    SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR,
};

use super::wide;

/// SY: LocalSystem, BA: built-in Administrators; OICI: files and folders inherit it; P: protected.
pub const ADMINS_ONLY: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

/// A security descriptor allocated by Windows (LocalAlloc), freed on drop.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn from_sddl(sddl: &str) -> std::io::Result<Self> {
        let sddl = wide(sddl);
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `sddl` is NUL-terminated and outlives the call; on success `descriptor` is
        // a LocalAlloc'd self-relative descriptor, owned by the returned value.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self(descriptor))
    }

    fn of_file(path: &std::path::Path) -> std::io::Result<Self> {
        let name = wide(&path.to_string_lossy());
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; the out pointers we do not want are null, which
        // the function allows; `descriptor` is LocalAlloc'd on success, owned by the result.
        let status = unsafe {
            GetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut descriptor,
            )
        };
        if status != 0 {
            return Err(std::io::Error::from_raw_os_error(status as i32));
        }
        Ok(Self(descriptor))
    }

    /// The DACL inside the descriptor (valid as long as the descriptor is).
    fn dacl(&self) -> std::io::Result<*mut ACL> {
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: the descriptor is valid; `dacl` points into it.
        let ok =
            unsafe { GetSecurityDescriptorDacl(self.0, &mut present, &mut dacl, &mut defaulted) };
        if ok == 0 || present == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(dacl)
    }

    fn dacl_sddl(&self) -> std::io::Result<String> {
        let mut text: *mut u16 = std::ptr::null_mut();
        let mut len = 0u32;
        // SAFETY: the descriptor is valid; `text` receives a LocalAlloc'd string of `len` units.
        let ok = unsafe {
            ConvertSecurityDescriptorToStringSecurityDescriptorW(
                self.0,
                SDDL_REVISION_1,
                DACL_SECURITY_INFORMATION,
                &mut text,
                &mut len,
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: on success `text` holds `len` UTF-16 units.
        let units = unsafe { std::slice::from_raw_parts(text, len as usize) };
        let sddl = String::from_utf16_lossy(units)
            .trim_end_matches('\0')
            .to_owned();
        // SAFETY: allocated by the conversion and not used after this.
        unsafe { LocalFree(text as HLOCAL) };
        Ok(sddl)
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by Windows with LocalAlloc and freed only here.
        unsafe { LocalFree(self.0 as HLOCAL) };
    }
}

pub fn restrict_to_admins(path: &std::path::Path) -> std::io::Result<()> {
    let descriptor = Descriptor::from_sddl(ADMINS_ONLY)?;
    let dacl = descriptor.dacl()?;
    let name = wide(&path.to_string_lossy());
    // SAFETY: `name` is NUL-terminated; `dacl` is valid while `descriptor` lives.
    let status = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if status != 0 {
        return Err(std::io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// The DACL of `path` in SDDL ("D:P(A;OICI;FA;;;SY)…"), as Windows reads it back.
pub fn dacl_sddl(path: &std::path::Path) -> std::io::Result<String> {
    Descriptor::of_file(path)?.dacl_sddl()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_grants_exactly_system_and_administrators_and_inherits_nothing() {
        // Parsed and printed back by Windows' own SDDL code: what SetNamedSecurityInfo gets.
        let sddl = Descriptor::from_sddl(ADMINS_ONLY)
            .unwrap()
            .dacl_sddl()
            .unwrap();
        assert!(sddl.starts_with("D:P"), "{sddl}");
        assert_eq!(sddl.matches("(A;").count(), 2, "{sddl}");
        assert!(sddl.contains(";;;SY)") && sddl.contains(";;;BA)"), "{sddl}");
    }

    #[test]
    fn a_directory_is_restricted() {
        let dir = tempfile::tempdir().unwrap();
        restrict_to_admins(dir.path()).unwrap();
        let read_back = dacl_sddl(dir.path()).unwrap();
        // Wine keeps no DACL on files (it derives one from the Unix mode), so only a real
        // Windows reads back what was set.
        if !super::super::under_wine() {
            assert!(read_back.starts_with("D:P"), "{read_back}");
            assert_eq!(read_back.matches("(A;").count(), 2, "{read_back}");
        }
    }
}
