package dev.mercuryobridge.testing;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/** Sets a property's tries from its {@link FuzzCases}: a slice in {@code make test}, the full run in {@code make fuzz}. */
public final class FuzzTries implements AroundPropertyHook {

    public static boolean fullRun() {
        return "full".equals(System.getProperty("fuzz"));
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        context.findAnnotation(FuzzCases.class)
                .ifPresent(cases -> context.attributes().setTries(fullRun() ? cases.fuzz() : cases.test()));
        return property.execute();
    }
}
