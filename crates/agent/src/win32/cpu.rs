//! Cumulative CPU times per logical processor, in 100 ns units, from
//! `NtQuerySystemInformation(SystemProcessorPerformanceInformation)`: the counters Task
//! Manager reads. Not PDH: it needs no counter names (localised on Windows) and Wine 8's
//! `PdhEnumObjects` is a stub that aborts the process.

use windows_sys::Wdk::System::SystemInformation::{
    NtQuerySystemInformation, SystemProcessorPerformanceInformation,
};
use windows_sys::Win32::System::WindowsProgramming::SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION;

/// One processor's busy and total time since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessorTimes {
    pub busy: u64,
    pub total: u64,
}

/// Every logical processor of the current processor group (up to 64).
pub fn processor_times() -> std::io::Result<Vec<ProcessorTimes>> {
    let count = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .max(1);
    // Room for more processors than std reports, so a change in affinity cannot truncate.
    let mut buffer = vec![SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION::default(); count.max(64)];
    let size = std::mem::size_of_val(buffer.as_slice());
    let mut returned = 0u32;
    // SAFETY: the pointer and length describe `buffer`, which outlives the call; the kernel
    // writes at most `size` bytes of plain-old-data structs and reports how many it wrote.
    let status = unsafe {
        NtQuerySystemInformation(
            SystemProcessorPerformanceInformation,
            buffer.as_mut_ptr().cast(),
            u32::try_from(size).unwrap_or(u32::MAX),
            &mut returned,
        )
    };
    if status < 0 {
        return Err(std::io::Error::other(format!(
            "NtQuerySystemInformation failed (NTSTATUS {status:#010x})"
        )));
    }
    let filled =
        returned as usize / std::mem::size_of::<SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION>();
    buffer.truncate(filled);
    Ok(buffer.iter().map(times).collect())
}

/// Kernel time includes idle time; busy is everything but idle.
fn times(p: &SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION) -> ProcessorTimes {
    let idle = p.IdleTime.max(0) as u64;
    let total = (p.KernelTime.max(0) as u64).saturating_add(p.UserTime.max(0) as u64);
    ProcessorTimes {
        busy: total.saturating_sub(idle),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_kernel_and_user_time_without_idle() {
        let p = SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION {
            IdleTime: 700,
            KernelTime: 900,
            UserTime: 100,
            ..Default::default()
        };
        assert_eq!(
            times(&p),
            ProcessorTimes {
                busy: 300,
                total: 1000
            }
        );
    }

    #[test]
    fn every_processor_is_read_and_the_counters_only_grow() {
        let first = processor_times().unwrap();
        assert!(!first.is_empty());
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            std::hint::black_box(0u64);
        }
        let second = processor_times().unwrap();
        assert_eq!(first.len(), second.len());
        for (a, b) in first.iter().zip(&second) {
            assert!(b.total >= a.total && b.busy >= a.busy, "{a:?} then {b:?}");
            assert!(b.busy <= b.total);
        }
    }
}
