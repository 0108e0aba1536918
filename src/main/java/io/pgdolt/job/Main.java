package io.pgdolt.job;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.verify.VerifyCommand;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Entry point: {@code run --config FILE} replicates (under {@code flink run} the job goes to the
 * cluster; with {@code java -jar} it runs on an embedded local Flink); {@code verify --config FILE}
 * compares the replica with the primary ({@link VerifyCommand}).
 */
public final class Main {
    private static final String USAGE =
            String.join(
                    "\n",
                    "usage: pgdolt run --config FILE [--restore CHECKPOINT_OR_SAVEPOINT_PATH]",
                    VerifyCommand.USAGE,
                    "",
                    "  run             replicate the primary into the replica until stopped",
                    "  verify          compare the replica with the primary, table by table; exit",
                    "                  0 equal, 1 different (stdout names the keys), 2 error",
                    "  --config        the YAML configuration (see README.md)",
                    "  --restore       (run, embedded) resume from a retained checkpoint or",
                    "                  savepoint; on a cluster use flink run -s PATH instead",
                    VerifyCommand.OPTIONS);

    private Main() {}

    public static void main(String[] args) throws Exception {
        int status = run(args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * {@code verify}, in-process: {@code args} are the arguments after {@code verify}; the report
     * goes to {@code out}, progress and errors to {@code err}.
     *
     * @return the exit status: 0 equal, 1 different, 2 usage, configuration or connection error
     */
    public static int verify(String[] args, PrintStream out, PrintStream err) {
        return VerifyCommand.run(List.of(args), out, err, System::getenv);
    }

    static int run(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args));
        if (rest.isEmpty() || rest.contains("--help") || rest.contains("-h")) {
            System.out.println(USAGE);
            return rest.isEmpty() ? 2 : 0;
        }
        String command = rest.remove(0);
        if ("verify".equals(command)) {
            return VerifyCommand.run(rest, System.out, System.err, System::getenv);
        }
        if (!"run".equals(command)) {
            System.err.println("unknown command '" + command + "'\n\n" + USAGE);
            return 2;
        }
        String configPath = null;
        String restore = null;
        for (int i = 0; i < rest.size(); i++) {
            String a = rest.get(i);
            if (("--config".equals(a) || "--restore".equals(a)) && i + 1 < rest.size()) {
                if ("--config".equals(a)) {
                    configPath = rest.get(++i);
                } else {
                    restore = rest.get(++i);
                }
            } else {
                System.err.println("unexpected argument '" + a + "'\n\n" + USAGE);
                return 2;
            }
        }
        if (configPath == null) {
            System.err.println("missing --config FILE\n\n" + USAGE);
            return 2;
        }
        PipelineConfig config;
        try {
            config = ConfigLoader.load(Path.of(configPath));
        } catch (ConfigException e) {
            System.err.println("pgdolt: configuration error: " + e.getMessage());
            return 2;
        }
        // Embedded, the local Flink reads no configuration file of its own: take FLINK_CONF_DIR's
        // config.yaml (metrics reporters, state backend, ...) as a Flink cluster would. Under
        // `flink run` the client has its configuration already (addresses included): leave it.
        String confDir = System.getenv("FLINK_CONF_DIR");
        boolean embedded = Boolean.getBoolean(Launcher.EMBEDDED_PROPERTY);
        Configuration flinkConf =
                !embedded || confDir == null || confDir.isBlank()
                        ? new Configuration()
                        : org.apache.flink.configuration.GlobalConfiguration.loadConfiguration(
                                confDir);
        if (restore != null) {
            System.err.println("pgdolt: restoring the job's state from " + restore);
            flinkConf.set(StateRecoveryOptions.SAVEPOINT_PATH, restore);
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(flinkConf);
        // Under `flink run -s PATH` (and the Kubernetes operator's upgrades) the path arrives in
        // the environment's configuration.
        boolean restoring =
                restore != null
                        || env.getConfiguration()
                                .getOptional(StateRecoveryOptions.SAVEPOINT_PATH)
                                .isPresent();
        try {
            PipelineBuilder.build(env, config, restoring);
        } catch (ConfigException e) {
            System.err.println("pgdolt: " + e.getMessage());
            return 2;
        }
        env.execute("pgdolt " + config.pipeline().id());
        return 0;
    }
}
