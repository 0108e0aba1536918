package io.pgdolt.txn;

/**
 * What the assembler hands the sink: a complete source transaction (inline, or staged and referring
 * to its chunks) or a chunk of a transaction still open. Exactly one of the two is set.
 */
public record Assembled(SourceTransaction transaction, TransactionChunk chunk) {
    public Assembled {
        if ((transaction == null) == (chunk == null)) {
            throw new IllegalArgumentException("exactly one of transaction and chunk");
        }
    }

    public static Assembled of(SourceTransaction transaction) {
        return new Assembled(transaction, null);
    }

    public static Assembled of(TransactionChunk chunk) {
        return new Assembled(null, chunk);
    }

    @Override
    public String toString() {
        return transaction != null ? transaction.toString() : chunk.toString();
    }
}
