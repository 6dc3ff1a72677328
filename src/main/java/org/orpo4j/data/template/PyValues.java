package org.orpo4j.data.template;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** How template values look from Python: type names for error messages, sequences as lists. */
final class PyValues {

    private PyValues() {}

    /** The value as a list when Python would treat it as a sequence (list, tuple, array); else null. */
    static List<?> asList(Object value) {
        if (value instanceof List<?> l) {
            return l;
        }
        if (value instanceof Object[] a) {
            return Arrays.asList(a);
        }
        if (value instanceof Collection<?> c) {
            return new ArrayList<>(c);
        }
        return null;
    }

    /** Python's type name of a template value. */
    static String typeName(Object value) {
        if (value == null) {
            return "NoneType";
        }
        if (value instanceof CharSequence) {
            return "str";
        }
        if (value instanceof Boolean) {
            return "bool";
        }
        if (value instanceof Double || value instanceof Float) {
            return "float";
        }
        if (value instanceof Number) {
            return "int";
        }
        if (value instanceof Map) {
            return "dict";
        }
        if (asList(value) != null) {
            return "list";
        }
        return value.getClass().getSimpleName();
    }
}
