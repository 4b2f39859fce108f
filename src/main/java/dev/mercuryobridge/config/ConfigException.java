package dev.mercuryobridge.config;

/** A configuration value is missing or invalid; the message names the variable and the problem. */
public final class ConfigException extends RuntimeException {
    ConfigException(String message) {
        super(message);
    }
}
