package dev.mercuryobridge.outbox;

/** One message as stored in the outbox: where it goes, its key, its stable id and its exact bytes. */
public record OutboxMessage(String topic, String key, String eventId, String eventType, byte[] payload) {}
