package io.pgdolt.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** CPU time and resident memory of a process and its descendants, read from Linux's /proc. */
final class ProcStats {
    /** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
    private static final double TICKS = 100.0;

    private ProcStats() {}

    /**
     * CPU seconds (user + system) used so far by {@code pid} and its descendants: the live ones'
     * own time, plus the time of ended children they have reaped (cutime, cstime), so that the
     * figure does not drop when a child ends (a PostgreSQL backend or walsender exiting between two
     * readings).
     */
    static double cpuSeconds(long pid) {
        double total = 0;
        for (long p : tree(pid)) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(p), "stat"));
                // Fields after the command name, which is in parentheses and may hold spaces.
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                total +=
                        (Long.parseLong(f[11])
                                        + Long.parseLong(f[12])
                                        + Long.parseLong(f[13])
                                        + Long.parseLong(f[14]))
                                / TICKS;
            } catch (IOException | RuntimeException gone) {
                // The process ended meanwhile.
            }
        }
        return total;
    }

    /**
     * CPU seconds the whole machine has been busy (all CPUs: user, nice, system, irq, softirq,
     * steal), from /proc/stat; NaN where unreadable.
     */
    static double machineBusySeconds() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(f[i]);
            }
            return busy / TICKS;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Resident set size in MiB of {@code pid} and its live descendants. */
    static double rssMiB(long pid) {
        double kib = 0;
        for (long p : tree(pid)) {
            try {
                for (String line :
                        Files.readAllLines(Path.of("/proc", Long.toString(p), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | RuntimeException gone) {
                // The process ended meanwhile.
            }
        }
        return kib / 1024.0;
    }

    private static List<Long> tree(long pid) {
        List<Long> pids = new ArrayList<>();
        ProcessHandle.of(pid)
                .ifPresent(
                        h -> {
                            pids.add(h.pid());
                            h.descendants().forEach(d -> pids.add(d.pid()));
                        });
        return pids;
    }
}
