package io.pgdolt.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The manifests in {@code k8s/} parse and agree with the job and with each other: the jar the image
 * holds is the one the deployment runs, the entry class exists, the config file the job is given is
 * the one the ConfigMap mounts and it loads, every secret it reads is a key of the mounted Secret,
 * and every Flink key is one Flink 1.20 knows.
 */
class KubernetesManifestsTest {
    private static final Path K8S = Path.of("k8s");

    @TempDir Path tmp;

    @SuppressWarnings("unchecked")
    private static Map<String, Object> yaml(String file) throws Exception {
        return (Map<String, Object>)
                new Yaml(new SafeConstructor(new LoaderOptions()))
                        .load(Files.readString(K8S.resolve(file), StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static <T> T at(Object node, String... path) {
        Object o = node;
        for (String p : path) {
            o = ((Map<String, Object>) o).get(p);
            assertThat(o).as("key %s", String.join(".", path)).isNotNull();
        }
        return (T) o;
    }

    @Test
    @SuppressWarnings("unchecked")
    void manifestsAgreeWithTheJobAndEachOther() throws Exception {
        Map<String, Object> deployment = yaml("flinkdeployment.yaml");
        Map<String, Object> configMap = yaml("configmap.yaml");
        Map<String, Object> secret = yaml("secret.yaml");
        Map<String, Object> storage = yaml("storage.yaml");
        assertThat((String) at(deployment, "kind")).isEqualTo("FlinkDeployment");
        assertThat((String) at(deployment, "spec", "flinkVersion")).isEqualTo("v1_20");

        // Application mode, savepoint upgrades only.
        Map<String, Object> job = at(deployment, "spec", "job");
        assertThat((String) at(job, "upgradeMode")).isEqualTo("savepoint");
        Map<String, Object> flinkConf = at(deployment, "spec", "flinkConfiguration");
        assertThat(
                        String.valueOf(
                                flinkConf.get(
                                        "kubernetes.operator.job.upgrade.last-state-fallback.enabled")))
                .isEqualTo("false");

        // The image puts the job jar where the deployment runs it from, on the project's Flink.
        String dockerfile = Files.readString(K8S.resolve("Dockerfile"), StandardCharsets.UTF_8);
        Matcher from =
                Pattern.compile("(?m)^FROM flink:(\\S+)-scala_2\\.12-java17$").matcher(dockerfile);
        assertThat(from.find()).as("FROM flink:<version>-scala_2.12-java17").isTrue();
        assertThat(from.group(1)).isEqualTo(pomProperty("flink.version"));
        // The local cluster (scripts/cluster.sh) runs the same Flink.
        assertThat(
                        DocumentBuilderFactory.newInstance()
                                .newDocumentBuilder()
                                .parse(Path.of("scripts/flink-runtime/pom.xml").toFile())
                                .getElementsByTagName("flink.version")
                                .item(0)
                                .getTextContent())
                .isEqualTo(pomProperty("flink.version"));
        Matcher copy =
                Pattern.compile("(?m)^COPY .*target/(\\S+\\.jar) (\\S+)$").matcher(dockerfile);
        assertThat(copy.find()).isTrue();
        assertThat(copy.group(1)).isEqualTo("pgdolt-" + pomVersion() + ".jar");
        assertThat((String) at(job, "jarURI")).isEqualTo("local://" + copy.group(2));
        assertThat(copy.group(2)).startsWith("/opt/flink/usrlib/");

        // The entry class runs `run --config FILE`.
        Class<?> entry = Class.forName(at(job, "entryClass"));
        Method main = entry.getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers())).isTrue();
        List<String> args = at(job, "args");
        assertThat(args).hasSize(3).startsWith("run", "--config");

        // Mounts: the config file is the ConfigMap's key; secrets are the Secret's keys.
        Map<String, Object> pod = at(deployment, "spec", "podTemplate", "spec");
        List<Map<String, Object>> containers = at(pod, "containers");
        assertThat((String) at(containers.get(0), "name")).isEqualTo("flink-main-container");
        Map<String, String> mountPaths = new HashMap<>();
        for (Map<String, Object> m :
                (List<Map<String, Object>>) at(containers.get(0), "volumeMounts")) {
            mountPaths.put(at(m, "name"), at(m, "mountPath"));
        }
        Map<String, Map<String, Object>> volumes = new HashMap<>();
        for (Map<String, Object> v : (List<Map<String, Object>>) at(pod, "volumes")) {
            volumes.put(at(v, "name"), v);
        }
        assertThat(mountPaths.keySet()).isEqualTo(volumes.keySet());
        String configMapName = at(configMap, "metadata", "name");
        String secretName = at(secret, "metadata", "name");
        String configVolume = null;
        String secretVolume = null;
        for (Map.Entry<String, Map<String, Object>> v : volumes.entrySet()) {
            Map<String, Object> spec = v.getValue();
            if (spec.containsKey("configMap")) {
                assertThat((String) at(spec, "configMap", "name")).isEqualTo(configMapName);
                configVolume = v.getKey();
            } else if (spec.containsKey("secret")) {
                assertThat((String) at(spec, "secret", "secretName")).isEqualTo(secretName);
                secretVolume = v.getKey();
            } else {
                assertThat((String) at(spec, "persistentVolumeClaim", "claimName"))
                        .isEqualTo(at(storage, "metadata", "name"));
            }
        }
        assertThat(configVolume).isNotNull();
        assertThat(secretVolume).isNotNull();
        Path configFile = Path.of(args.get(2));
        assertThat(configFile.getParent().toString()).isEqualTo(mountPaths.get(configVolume));
        Map<String, String> configData = at(configMap, "data");
        String jobYaml = configData.get(configFile.getFileName().toString());
        assertThat(jobYaml).as("ConfigMap key %s", configFile.getFileName()).isNotNull();

        // Every ${file:...} the job config reads is a key of the mounted Secret; with those files
        // in place the config loads and takes the passwords from them.
        Map<String, String> secretData = at(secret, "stringData");
        Matcher files = Pattern.compile("\\$\\{file:([^}]+)}").matcher(jobYaml);
        Set<String> read = new HashSet<>();
        String local = jobYaml;
        while (files.find()) {
            Path p = Path.of(files.group(1));
            assertThat(p.getParent().toString()).isEqualTo(mountPaths.get(secretVolume));
            String key = p.getFileName().toString();
            assertThat(secretData).containsKey(key);
            read.add(key);
            Files.writeString(tmp.resolve(key), secretData.get(key) + "\n");
            local = local.replace(files.group(1), tmp.resolve(key).toString());
        }
        assertThat(read).containsExactlyInAnyOrderElementsOf(secretData.keySet());
        PipelineConfig config = ConfigLoader.parse(local, name -> null);
        assertThat(config.primary().password().reveal())
                .isEqualTo(secretData.get("primary-password"));
        assertThat(config.replica().password().reveal())
                .isEqualTo(secretData.get("replica-password"));

        // Checkpoints and savepoints on the shared volume; every Flink key is a real one.
        String dataMount =
                mountPaths.get(
                        volumes.keySet().stream()
                                .filter(v -> volumes.get(v).containsKey("persistentVolumeClaim"))
                                .findFirst()
                                .orElseThrow());
        assertThat((String) flinkConf.get("execution.checkpointing.dir"))
                .isEqualTo("file://" + dataMount + "/checkpoints");
        assertThat((String) flinkConf.get("execution.checkpointing.savepoint-dir"))
                .isEqualTo("file://" + dataMount + "/savepoints");
        Set<String> known = knownFlinkKeys();
        List<String> unknown = new ArrayList<>();
        for (String key : flinkConf.keySet()) {
            if (!key.startsWith("kubernetes.operator.") && !known.contains(key)) {
                unknown.add(key);
            }
        }
        assertThat(unknown).as("keys Flink 1.20 does not know").isEmpty();
        assertThat(String.valueOf(flinkConf.get("execution.checkpointing.unaligned.enabled")))
                .isEqualTo("false");
    }

    /** The keys (and deprecated/fallback keys) of the Flink options a deployment here sets. */
    private static Set<String> knownFlinkKeys() throws IllegalAccessException {
        Set<String> keys = new HashSet<>();
        for (Class<?> holder :
                List.of(
                        CheckpointingOptions.class,
                        StateBackendOptions.class,
                        RestartStrategyOptions.class,
                        TaskManagerOptions.class,
                        org.apache.flink.streaming.api.environment.ExecutionCheckpointingOptions
                                .class)) {
            for (java.lang.reflect.Field f : holder.getFields()) {
                if (ConfigOption.class.isAssignableFrom(f.getType())
                        && Modifier.isStatic(f.getModifiers())) {
                    keys.add(((ConfigOption<?>) f.get(null)).key());
                }
            }
        }
        return keys;
    }

    private static String pomVersion() throws Exception {
        return org.w3c.dom.Node.class
                .cast(pom().getElementsByTagName("version").item(0))
                .getTextContent();
    }

    private static String pomProperty(String name) throws Exception {
        return pom().getElementsByTagName(name).item(0).getTextContent();
    }

    private static org.w3c.dom.Document pom() throws Exception {
        return DocumentBuilderFactory.newInstance()
                .newDocumentBuilder()
                .parse(Path.of("pom.xml").toFile());
    }
}
