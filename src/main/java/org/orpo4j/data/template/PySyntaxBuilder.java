package org.orpo4j.data.template;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Parser;

/** Jinjava's syntax builder with {@link PyParser}; public with the constructor JUEL instantiates it by name. */
public final class PySyntaxBuilder extends ExtendedSyntaxBuilder {

    private static final long serialVersionUID = 1L;

    public PySyntaxBuilder(Builder.Feature... features) {
        super(features);
    }

    @Override
    protected Parser createParser(String expression) {
        return new PyParser(this, expression);
    }
}
