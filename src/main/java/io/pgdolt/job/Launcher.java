package io.pgdolt.job;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The jar's entry class. The job jar leaves the Flink runtime out (a cluster provides it); when the
 * jar is started with {@code java -jar}, this runs {@link Main} in a child JVM (same JVM options)
 * whose class path adds the runtime jars from {@code lib/} beside the job jar (the build copies
 * them to {@code target/lib}): an embedded local Flink. Under {@code flink run}, Flink is already
 * present and Main runs directly.
 *
 * <p>Must not reference Flink classes itself.
 */
public final class Launcher {
    /** System property set on the child JVM of an embedded run. */
    static final String EMBEDDED_PROPERTY = "pgdolt.embedded";

    private static final String PROBE =
            "org.apache.flink.streaming.api.environment.StreamExecutionEnvironment";

    private Launcher() {}

    public static void main(String[] args) throws Throwable {
        if (isPresent(PROBE, Launcher.class.getClassLoader())) {
            Main.main(args);
            return;
        }
        File jar =
                new File(
                        Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        File lib = new File(jar.getParentFile(), "lib");
        File[] runtime = lib.listFiles((dir, name) -> name.endsWith(".jar"));
        if (runtime == null || runtime.length == 0) {
            System.err.println(
                    "pgdolt: the Flink runtime is missing. Submit the jar to a Flink cluster with"
                            + " 'flink run', or keep the lib/ directory of the build ("
                            + lib
                            + ") beside the jar to run it embedded with java -jar.");
            System.exit(2);
        }
        // Flink resolves classes through the system class loader in places, so the runtime must be
        // on the JVM's class path: run Main in a child JVM with the same options and the full path.
        String javaBin =
                ProcessHandle.current()
                        .info()
                        .command()
                        .orElse(System.getProperty("java.home") + "/bin/java");
        List<String> command = new ArrayList<>();
        command.add(javaBin);
        List<String> jvmOptions = ManagementFactory.getRuntimeMXBean().getInputArguments();
        command.addAll(jvmOptions);
        if (jvmOptions.stream().noneMatch(o -> o.startsWith("-Dlog4j.configurationFile"))) {
            // Console logging of the job; pass -Dlog4j.configurationFile=... to override.
            command.add("-Dlog4j.configurationFile=classpath:pgdolt-log4j2.properties");
        }
        command.add("-D" + EMBEDDED_PROPERTY + "=true");
        command.add("-cp");
        command.add(jar.getPath() + File.pathSeparator + lib.getPath() + File.separator + "*");
        command.add(Main.class.getName());
        command.addAll(Arrays.asList(args));
        Process child = new ProcessBuilder(command).inheritIO().start();
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    if (child.isAlive()) {
                                        child.destroy();
                                        try {
                                            child.waitFor();
                                        } catch (InterruptedException e) {
                                            Thread.currentThread().interrupt();
                                        }
                                    }
                                }));
        System.exit(child.waitFor());
    }

    private static boolean isPresent(String className, ClassLoader loader) {
        try {
            Class.forName(className, false, loader);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
