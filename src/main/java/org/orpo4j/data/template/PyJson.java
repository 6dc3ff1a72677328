package org.orpo4j.data.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps} as transformers' {@code tojson} filter calls it: {@code ensure_ascii=False} by
 * default, separators {@code ", "}/{@code ": "} (or {@code ","} between items when indenting), dict insertion
 * order, Python's float repr. Jinja's built-in tojson (HTML-escaping) and Jinjava's (compact Jackson) differ.
 */
final class PyJson {

    private final boolean ensureAscii;
    private final String indent; // null: single line
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;

    PyJson(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        this.ensureAscii = ensureAscii;
        this.indent = indent;
        this.itemSeparator = itemSeparator != null ? itemSeparator : indent == null ? ", " : ",";
        this.keySeparator = keySeparator != null ? keySeparator : ": ";
        this.sortKeys = sortKeys;
    }

    String dumps(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.toString();
    }

    private void write(StringBuilder out, Object v, int depth) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (v instanceof CharSequence s) {
            string(out, s.toString());
        } else if (v instanceof Double || v instanceof Float) {
            out.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof BigDecimal d) {
            out.append(floatRepr(d.doubleValue()));
        } else if (v instanceof Number n) {
            out.append(n instanceof BigInteger ? n.toString() : Long.toString(n.longValue()));
        } else if (v instanceof Map<?, ?> m) {
            map(out, m, depth);
        } else if (PyValues.asList(v) != null) {
            list(out, PyValues.asList(v), depth);
        } else {
            throw new IllegalArgumentException("Object of type " + PyValues.typeName(v) + " is not JSON serializable");
        }
    }

    private void map(StringBuilder out, Map<?, ?> m, int depth) {
        if (m.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
        if (sortKeys) {
            entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
        }
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
            separate(out, i, depth + 1);
            Object key = entries.get(i).getKey();
            string(out, key instanceof Boolean b ? (b ? "true" : "false") : key == null ? "null" : String.valueOf(key));
            out.append(keySeparator);
            write(out, entries.get(i).getValue(), depth + 1);
        }
        close(out, depth);
        out.append('}');
    }

    private void list(StringBuilder out, List<?> l, int depth) {
        if (l.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        for (int i = 0; i < l.size(); i++) {
            separate(out, i, depth + 1);
            write(out, l.get(i), depth + 1);
        }
        close(out, depth);
        out.append(']');
    }

    private void separate(StringBuilder out, int i, int depth) {
        if (i > 0) {
            out.append(itemSeparator);
        }
        if (indent != null) {
            out.append('\n').append(indent.repeat(depth));
        }
    }

    private void close(StringBuilder out, int depth) {
        if (indent != null) {
            out.append('\n').append(indent.repeat(depth));
        }
    }

    private void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c)); // surrogates stay pairs, as in Python
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = exact.precision() - exact.scale() - 1; // d = m * 10^exponent with 1 <= |m| < 10
        if (exponent < -4 || exponent >= 16) {
            String digits = exact.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + String.format("%02d", Math.abs(exponent));
        }
        String plain = exact.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }
}
