package dev.mercuryobridge.testing;

import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * How many cases a fuzz property runs: {@code test} in {@code make test}, {@code fuzz} when the
 * JVM runs with {@code -Dfuzz=full} ({@code make fuzz}). Read by {@link FuzzTries}.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@AddLifecycleHook(FuzzTries.class)
public @interface FuzzCases {
    int test();

    int fuzz();
}
