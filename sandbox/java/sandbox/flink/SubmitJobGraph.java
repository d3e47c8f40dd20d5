package sandbox.flink;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.flink.api.common.JobID;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.util.InstantiationUtil;

/** Submit a kept job graph under a new job id, from a savepoint or not: JOBGRAPH HOST PORT [SAVEPOINT]. */
public final class SubmitJobGraph {
    public static void main(String[] args) throws Exception {
        JobGraph graph = InstantiationUtil.deserializeObject(
                Files.readAllBytes(Path.of(args[0])), SubmitJobGraph.class.getClassLoader());
        graph.setJobID(new JobID());
        graph.setSavepointRestoreSettings(args.length > 3
                ? SavepointRestoreSettings.forPath(args[3], false) : SavepointRestoreSettings.none());
        Configuration config = new Configuration();
        config.set(RestOptions.ADDRESS, args[1]);
        config.set(RestOptions.PORT, Integer.parseInt(args[2]));
        config.set(RestOptions.RETRY_MAX_ATTEMPTS, 180);  // a JobManager still booting: every 0.5 s for 90 s
        config.set(RestOptions.RETRY_DELAY, 500L);
        try (RestClusterClient<StandaloneClusterId> client =
                     new RestClusterClient<>(config, StandaloneClusterId.getInstance())) {
            System.out.println("JOB_ID " + client.submitJob(graph).get());
        }
    }
}
