package io.pgdolt.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProcStatsTest {

    /**
     * A child's CPU time stays counted after it ends: it moves from the child's own entry to its
     * parent's reaped-children time, and the tree's total must not drop with it.
     */
    @Test
    void cpuOfAnEndedChildStaysCounted() throws Exception {
        long self = ProcessHandle.current().pid();
        double before = ProcStats.cpuSeconds(self);
        // Burns CPU, then waits on its standard input so that it is measured while alive.
        Process child =
                new ProcessBuilder(
                                "sh",
                                "-c",
                                "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; read x || true")
                        .start();
        double alive = before;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (alive - before < 0.2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
            alive = ProcStats.cpuSeconds(self);
        }
        assertThat(alive - before).as("CPU seconds of the live child").isGreaterThanOrEqualTo(0.2);
        // Let it finish its loop, then end it; the JVM reaps it.
        Thread.sleep(200);
        alive = ProcStats.cpuSeconds(self);
        child.getOutputStream().close();
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isZero();
        double ended = ProcStats.cpuSeconds(self);
        assertThat(ended).as("CPU seconds after the child ended").isGreaterThanOrEqualTo(alive);
    }
}
