/* A stand-in bcryptprimitives.dll for Wine 8, which lacks ProcessPrng: Rust's std (1.78+)
 * imports it for randomness, and without it every Rust .exe exits with status 53 before
 * main. It fills the buffer from RtlGenRandom (advapi32!SystemFunction036), which Wine has.
 * Built by `cargo xtask windows` into the test Wine prefix only; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
