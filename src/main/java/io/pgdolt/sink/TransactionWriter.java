package io.pgdolt.sink;

import io.pgdolt.txn.SourceTransaction;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;

/**
 * First phase of the two-phase commit: collects the complete source transactions that reach the
 * sink before a checkpoint barrier and hands them to the committer as that checkpoint's
 * committables. Writes nothing to the replica itself. Used by one task thread.
 */
final class TransactionWriter
        implements CommittingSinkWriter<SourceTransaction, SourceTransaction> {
    private List<SourceTransaction> pending = new ArrayList<>();

    @Override
    public void write(SourceTransaction txn, Context context) {
        pending.add(txn);
    }

    @Override
    public void flush(boolean endOfInput) {
        // Nothing is buffered outside what prepareCommit hands over.
    }

    @Override
    public Collection<SourceTransaction> prepareCommit() {
        List<SourceTransaction> out = pending;
        pending = new ArrayList<>();
        return out;
    }

    @Override
    public void close() {
        pending.clear();
    }
}
