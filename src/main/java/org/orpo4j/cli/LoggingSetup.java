package org.orpo4j.cli;

/**
 * The CLI's slf4j-simple format: time, level and message on stderr, DJL's start-up chatter hidden. Done with
 * system properties before the first logger exists (a simplelogger.properties on the classpath would also
 * change the logging of every application that uses orpo4j as a library). A property the user set wins.
 */
final class LoggingSetup {

    private static final String PREFIX = "org.slf4j.simpleLogger.";

    private LoggingSetup() {}

    static void configure(boolean verbose) {
        setDefault("defaultLogLevel", "info");
        setDefault("showDateTime", "true");
        setDefault("dateTimeFormat", "HH:mm:ss");
        setDefault("showThreadName", "false");
        setDefault("showLogName", "false");
        setDefault("showShortLogName", "false");
        setDefault("log.ai.djl", "warn");
        setDefault("log.ai.djl.util.cuda.CudaUtils", "error"); // "no GPU" is not news on a CPU machine
        if (verbose) {
            setDefault("log.org.orpo4j", "debug");
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true"); // charts render without a display
        }
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(PREFIX + key) == null) {
            System.setProperty(PREFIX + key, value);
        }
    }
}
