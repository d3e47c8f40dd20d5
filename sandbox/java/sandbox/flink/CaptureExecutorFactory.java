package sandbox.flink;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.apache.flink.client.deployment.executors.PipelineExecutorUtils;
import org.apache.flink.client.deployment.executors.RemoteExecutor;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.core.execution.PipelineExecutor;
import org.apache.flink.core.execution.PipelineExecutorFactory;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.util.InstantiationUtil;

/** `execution.target: sandbox-capture`: submit as `remote` does, and keep the job graph in a file. */
public final class CaptureExecutorFactory implements PipelineExecutorFactory {
    public static final String NAME = "sandbox-capture";
    public static final ConfigOption<String> FILE =
            ConfigOptions.key("sandbox.jobgraph.file").stringType().noDefaultValue();

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public boolean isCompatibleWith(Configuration configuration) {
        return NAME.equalsIgnoreCase(configuration.get(DeploymentOptions.TARGET));
    }

    @Override
    public PipelineExecutor getExecutor(Configuration configuration) {
        return (pipeline, config, classLoader) -> {
            JobGraph graph = PipelineExecutorUtils.getJobGraph(pipeline, config, classLoader);
            Path file = Path.of(config.get(FILE));
            Path partial = file.resolveSibling(file.getFileName() + ".partial");
            Files.write(partial, InstantiationUtil.serializeObject(graph));
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Configuration remote = new Configuration(config);
            remote.set(DeploymentOptions.TARGET, RemoteExecutor.NAME);
            return new RemoteExecutor().execute(pipeline, remote, classLoader);
        };
    }
}
