//! The names of the series the API serves and alert rules watch.

names! {
    /// A series name. Per-instance series (filesystem, disk, network) have one series per
    /// mount point, device or interface.
    pub enum MetricName("metric") {
        CpuPercent = "cpu.percent",
        CpuLoad1 = "cpu.load1",
        CpuLoad5 = "cpu.load5",
        CpuLoad15 = "cpu.load15",
        MemoryUsedPercent = "memory.used_percent",
        MemoryUsedBytes = "memory.used_bytes",
        MemoryAvailableBytes = "memory.available_bytes",
        SwapUsedPercent = "swap.used_percent",
        TemperatureCpuC = "temperature.cpu_c",
        HealthScore = "health.score",
        UptimeSeconds = "uptime.seconds",
        FilesystemUsedPercent = "filesystem.used_percent",
        FilesystemUsedBytes = "filesystem.used_bytes",
        FilesystemFreeBytes = "filesystem.free_bytes",
        FilesystemInodesUsedPercent = "filesystem.inodes_used_percent",
        DiskReadBytesPerS = "disk.read_bytes_per_s",
        DiskWriteBytesPerS = "disk.write_bytes_per_s",
        DiskReadOpsPerS = "disk.read_ops_per_s",
        DiskWriteOpsPerS = "disk.write_ops_per_s",
        DiskBusyPercent = "disk.busy_percent",
        NetworkRxBytesPerS = "network.rx_bytes_per_s",
        NetworkTxBytesPerS = "network.tx_bytes_per_s",
        NetworkRxErrors = "network.rx_errors",
        NetworkTxErrors = "network.tx_errors",
        NetworkRxDrops = "network.rx_drops",
        NetworkTxDrops = "network.tx_drops",
    }
}

names! {
    /// What a series is measured on: the machine (one value per report) or one of its
    /// filesystems (instance = mount point), disks (device) or interfaces.
    pub enum MetricScope("metric scope") {
        Machine = "machine",
        Filesystem = "filesystem",
        Disk = "disk",
        Network = "network",
    }
}

names! {
    /// The storage tier a series was read from.
    pub enum SeriesTier("tier") {
        Raw = "raw",
        FiveMinutes = "5m",
        Hour = "1h",
    }
}
