package org.orpo4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version Maven wrote into the jar ({@code pom.properties}); a development build outside a jar has none. */
final class Version implements IVersionProvider {

    private static final String POM_PROPERTIES = "/META-INF/maven/org.orpo4j/orpo4j/pom.properties";

    @Override
    public String[] getVersion() throws IOException {
        try (InputStream in = Version.class.getResourceAsStream(POM_PROPERTIES)) {
            if (in == null) {
                return new String[] {"orpo4j (development build)"};
            }
            Properties p = new Properties();
            p.load(in);
            return new String[] {"orpo4j " + p.getProperty("version", "?")};
        }
    }
}
