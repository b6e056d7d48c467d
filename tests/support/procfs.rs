//! What a process holds, read from /proc: open sockets and resident memory.

/// Open sockets of a process, from /proc.
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Resident memory of a process, KiB, from /proc.
pub fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The address a socket of process `pid`'s network namespace listens on at `port` (IPv4), from
/// /proc: what a service bound, whatever it logged.
pub fn listening_address(pid: u32, port: u16) -> Option<std::net::Ipv4Addr> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (address, local_port) = fields.get(1)?.split_once(':')?;
        let listening = fields.get(3) == Some(&"0A");
        (listening && u16::from_str_radix(local_port, 16).ok()? == port).then(|| {
            // The kernel prints the address as a little-endian hex word.
            std::net::Ipv4Addr::from(u32::from_str_radix(address, 16).unwrap_or(0).swap_bytes())
        })
    })
}

/// Open file descriptors of a process (sockets, files, pipes), from /proc.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}
