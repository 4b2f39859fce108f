package dev.mercuryobridge.outbox;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;
import java.util.concurrent.Future;

/**
 * A producer of the tests' own for the relay, which sends with a callback and uses no
 * transactions: what the relay never calls refuses, in one place for every such producer.
 */
interface RelayProducer extends Producer<String, byte[]> {

    @Override
    default Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
        return send(record, null);
    }

    @Override
    default void initTransactions() {
        throw new UnsupportedOperationException("the relay uses no transactions");
    }

    @Override
    default void beginTransaction() {
        throw new UnsupportedOperationException("the relay uses no transactions");
    }

    @Override
    default void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata groupMetadata) {
        throw new UnsupportedOperationException("the relay uses no transactions");
    }

    @Override
    default void commitTransaction() {
        throw new UnsupportedOperationException("the relay uses no transactions");
    }

    @Override
    default void abortTransaction() {
        throw new UnsupportedOperationException("the relay uses no transactions");
    }
}
