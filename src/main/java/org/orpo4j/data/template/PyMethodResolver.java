package org.orpo4j.data.template;

import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Routes every method call on a string to {@link PyStr} (Python semantics; Java's own String methods such as
 * a regex {@code split} are never reached), resolves {@code s[i]} by code point with negative indices, and
 * gives dicts Python's {@code get(key, default)}. Sits first in the resolver chain; leaves everything else to
 * Jinjava's resolvers.
 */
final class PyMethodResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        Object[] args = params == null ? new Object[0] : params;
        if (base instanceof String s && method != null) {
            Object result = PyStr.call(s, method.toString(), args);
            context.setPropertyResolved(true);
            return result;
        }
        if (base instanceof Map<?, ?> map && "get".equals(method) && (args.length == 1 || args.length == 2)) {
            context.setPropertyResolved(true);
            return map.containsKey(args[0]) ? map.get(args[0]) : args.length == 2 ? args[1] : null;
        }
        return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof String s && property instanceof Number n) {
            int[] cps = s.codePoints().toArray();
            int i = n.intValue() < 0 ? n.intValue() + cps.length : n.intValue();
            if (i < 0 || i >= cps.length) {
                throw new IllegalArgumentException("string index out of range");
            }
            context.setPropertyResolved(true);
            return new String(cps, i, 1);
        }
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // strings are immutable: nothing to resolve here
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return base instanceof String;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return List.<FeatureDescriptor>of().iterator();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
