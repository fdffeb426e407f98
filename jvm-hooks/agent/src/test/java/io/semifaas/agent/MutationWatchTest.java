package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.blog.ReaderController;
import java.util.List;
import org.junit.jupiter.api.Test;

class MutationWatchTest {

  @Test
  void aFieldReferencingServerBoundObjectsIsUnchangedBetweenFingerprints() {
    ReaderController bean = new ReaderController();
    var before = MutationWatch.fingerprint(bean);
    bean.read();
    var after = MutationWatch.fingerprint(bean);
    assertEquals(1, before.size(), "the helper field is watched: " + before.keySet());
    assertEquals(List.of(), MutationWatch.compare(before, after));
  }

  @Test
  void onlyTheAgentsOwnPackagesAreAgentClasses() {
    assertTrue(AgentClasses.isAgentClass("io.semifaas.agent.Dispatcher"));
    assertTrue(AgentClasses.isAgentClass("io/semifaas/shaded/kryo/Kryo"));
    assertTrue(AgentClasses.isAgentClass("io.semifaas.common.RemoteRef"));
    assertTrue(AgentClasses.isAgentClass(AgentClasses.WARMUP));
    assertFalse(AgentClasses.isAgentClass("io.semifaas.samples.blog.web.SearchController"));
    assertFalse(AgentClasses.isAgentClass("io/semifaas/samples/image/ImageController"));
    assertFalse(AgentClasses.isAgentClass("com.example.blog.ReaderController"));
  }
}
