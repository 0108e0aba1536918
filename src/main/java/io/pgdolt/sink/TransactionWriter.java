package io.pgdolt.sink;

import io.pgdolt.txn.Assembled;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;

/**
 * First phase of the two-phase commit: collects the complete source transactions that reach the
 * sink before a checkpoint barrier and hands them to the committer as that checkpoint's
 * committables. Chunks of large transactions still open at the source are staged on the replica at
 * once ({@link ChunkStager}), so they are durable before the barrier that follows them completes;
 * nothing else is written to the replica here. Used by one task thread.
 */
final class TransactionWriter implements CommittingSinkWriter<Assembled, TransactionCommittable> {
    private final ChunkStager stager;
    private List<TransactionCommittable> pending = new ArrayList<>();

    TransactionWriter(ChunkStager stager) {
        this.stager = stager;
    }

    @Override
    public void write(Assembled element, Context context) throws IOException, InterruptedException {
        if (element.chunk() != null) {
            stager.stage(element.chunk());
        } else {
            pending.add(new TransactionCommittable(element.transaction()));
        }
    }

    @Override
    public void flush(boolean endOfInput) {
        // Chunks are staged synchronously; complete transactions go out through prepareCommit.
    }

    @Override
    public Collection<TransactionCommittable> prepareCommit() {
        List<TransactionCommittable> out = pending;
        pending = new ArrayList<>();
        return out;
    }

    @Override
    public void close() {
        pending.clear();
        stager.close();
    }
}
