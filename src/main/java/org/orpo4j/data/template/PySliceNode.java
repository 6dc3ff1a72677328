package org.orpo4j.data.template;

import java.util.ArrayList;
import java.util.List;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;

/**
 * {@code base[start:stop:step]} with Python semantics (negative indices and steps, clamping), because Jinjava's
 * own range bracket has no step and templates reverse conversations with {@code messages[::-1]}.
 */
final class PySliceNode extends AstRightValue {

    private final AstNode base;
    private final AstNode start; // nullable
    private final AstNode stop; // nullable
    private final AstNode step; // nullable

    PySliceNode(AstNode base, AstNode start, AstNode stop, AstNode step) {
        this.base = base;
        this.start = start;
        this.stop = stop;
        this.step = step;
    }

    @Override
    public Object eval(Bindings bindings, ELContext context) {
        Object value = base.eval(bindings, context);
        Integer from = bound(start, bindings, context);
        Integer to = bound(stop, bindings, context);
        Integer by = bound(step, bindings, context);
        if (value instanceof CharSequence s) {
            int[] codePoints = s.toString().codePoints().toArray(); // Python indexes code points
            StringBuilder out = new StringBuilder();
            for (int i : PySlice.indices(codePoints.length, from, to, by)) {
                out.appendCodePoint(codePoints[i]);
            }
            return out.toString();
        }
        List<?> list = PyValues.asList(value);
        if (list == null) {
            throw new IllegalArgumentException("cannot slice a " + PyValues.typeName(value));
        }
        List<Object> out = new ArrayList<>();
        for (int i : PySlice.indices(list.size(), from, to, by)) {
            out.add(list.get(i));
        }
        return out;
    }

    private static Integer bound(AstNode node, Bindings bindings, ELContext context) {
        if (node == null) {
            return null;
        }
        Object v = node.eval(bindings, context);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("slice indices must be integers, got " + PyValues.typeName(v));
        }
        return n.intValue();
    }

    @Override
    public void appendStructure(StringBuilder b, Bindings bindings) {
        base.appendStructure(b, bindings);
        b.append('[');
        appendOptional(b, start, bindings);
        b.append(':');
        appendOptional(b, stop, bindings);
        b.append(':');
        appendOptional(b, step, bindings);
        b.append(']');
    }

    private static void appendOptional(StringBuilder b, AstNode node, Bindings bindings) {
        if (node != null) {
            node.appendStructure(b, bindings);
        }
    }

    @Override
    public int getCardinality() {
        return 4;
    }

    @Override
    public AstNode getChild(int i) {
        return switch (i) {
            case 0 -> base;
            case 1 -> start;
            case 2 -> stop;
            case 3 -> step;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return "[::]";
    }
}
