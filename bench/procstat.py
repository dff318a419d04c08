"""What /proc says about a process: resident memory and CPU time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 if the process is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after it do not.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_cpu_seconds() -> float:
    """CPU time every process of the machine has used (user, system, interrupts)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


@dataclass
class CpuMeter:
    """CPU use of some processes over a window, as % of one core."""

    pids: list[int]
    started_at: float = 0.0
    start_cpu: float = 0.0

    def start(self, now: float) -> None:
        self.started_at = now
        self.start_cpu = sum(cpu_seconds(pid) for pid in self.pids)

    def percent(self, now: float) -> float:
        elapsed = now - self.started_at
        used = sum(cpu_seconds(pid) for pid in self.pids) - self.start_cpu
        return round(100 * used / elapsed, 1) if elapsed > 0 else 0.0
