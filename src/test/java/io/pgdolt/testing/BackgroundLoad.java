package io.pgdolt.testing;

import java.sql.Connection;
import java.util.List;

/**
 * Runs a {@link Workload} on the primary from a background thread, a few transactions at a time,
 * until stopped; can be paused between transactions (so that a commit is never in doubt while the
 * primary restarts).
 */
public final class BackgroundLoad implements AutoCloseable {
    private final Workload workload;
    private final Db primary;
    private final Thread thread;
    private volatile boolean stop;
    private volatile boolean pause;
    private volatile boolean idle;
    private volatile Throwable failure;
    private final java.util.concurrent.CopyOnWriteArrayList<Long> committed =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    public BackgroundLoad(Workload workload, Db primary) {
        this.workload = workload;
        this.primary = primary;
        this.thread = new Thread(this::run, "background-load");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (!stop) {
                if (pause) {
                    idle = true;
                    Thread.sleep(20);
                    continue;
                }
                idle = false;
                try (Connection c = primary.connect()) {
                    while (!stop && !pause) {
                        workload.run(c, 5);
                        List<Long> all = workload.xids();
                        committed.addAll(all.subList(committed.size(), all.size()));
                        Thread.sleep(30);
                    }
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    /** Waits until the writer is between transactions and holds it there. */
    public void pause() throws InterruptedException {
        pause = true;
        while (!idle && thread.isAlive()) {
            Thread.sleep(10);
        }
    }

    public void resume() {
        pause = false;
    }

    /** Number of committed transactions so far. */
    public int committed() {
        return committed.size();
    }

    /** The xids committed so far, in commit order. */
    public List<Long> xids() {
        return List.copyOf(committed);
    }

    /** Stops the writer and returns the xids it committed, in commit order. */
    public List<Long> stopAndGet() throws InterruptedException {
        stop = true;
        thread.join(60_000);
        if (failure != null) {
            throw new AssertionError("the background load failed", failure);
        }
        return List.copyOf(workload.xids());
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(60_000);
    }
}
