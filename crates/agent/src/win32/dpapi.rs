//! The machine token sealed with DPAPI in machine scope (`CRYPTPROTECT_LOCAL_MACHINE`): the
//! sealed bytes open only on this Windows installation, so a copied state directory or a
//! backup does not carry a usable token. Any local administrator (or SYSTEM) can still open
//! it; the directory's ACL keeps other users from reading it in the first place.

use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData,
    CryptUnprotectData,
};

/// Mixed into the key derivation so another program's DPAPI blobs cannot be swapped in.
const ENTROPY: &[u8] = b"optralis-agent machine token v1";

pub fn seal(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    transform(plain, true)
}

pub fn unseal(sealed: &[u8]) -> std::io::Result<Vec<u8>> {
    transform(sealed, false)
}

fn blob(bytes: &[u8]) -> CRYPT_INTEGER_BLOB {
    CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        pbData: bytes.as_ptr().cast_mut(),
    }
}

fn transform(input: &[u8], sealing: bool) -> std::io::Result<Vec<u8>> {
    if input.len() > u32::MAX as usize {
        return Err(std::io::Error::other("too large for DPAPI"));
    }
    let data_in = blob(input);
    let entropy = blob(ENTROPY);
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    let flags = CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN;
    // SAFETY: the input blobs point into slices that outlive the call and are only read
    // (DPAPI takes `*const` blobs); `out` is written by the call with a LocalAlloc'd buffer
    // that we copy and then free exactly once below.
    let ok = unsafe {
        if sealing {
            CryptProtectData(
                &data_in,
                std::ptr::null(),
                &entropy,
                std::ptr::null(),
                std::ptr::null(),
                flags,
                &mut out,
            )
        } else {
            CryptUnprotectData(
                &data_in,
                std::ptr::null_mut(),
                &entropy,
                std::ptr::null(),
                std::ptr::null(),
                flags,
                &mut out,
            )
        }
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: on success `out` describes `cbData` initialised bytes owned by us.
    let bytes = unsafe { std::slice::from_raw_parts(out.pbData, out.cbData as usize) }.to_vec();
    // SAFETY: the buffer came from DPAPI's LocalAlloc and is not used after this.
    unsafe { LocalFree(out.pbData as HLOCAL) };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_again_and_does_not_show_the_token() {
        let token = b"omt_0123456789abcdef";
        let sealed = seal(token).unwrap();
        assert!(!sealed.windows(token.len()).any(|w| w == token));
        assert_eq!(unseal(&sealed).unwrap(), token);
    }

    #[test]
    fn a_damaged_blob_is_refused() {
        let mut sealed = seal(b"omt_secret").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 0xff;
        assert!(unseal(&sealed).is_err());
    }
}
