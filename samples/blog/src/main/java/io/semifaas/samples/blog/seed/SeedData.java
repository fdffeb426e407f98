package io.semifaas.samples.blog.seed;

import io.semifaas.samples.blog.domain.User;
import io.semifaas.samples.blog.domain.UserRepository;
import io.semifaas.samples.blog.service.BlogService;
import io.semifaas.samples.blog.service.PasswordHasher;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.boot.CommandLineRunner;
import org.springframework.stereotype.Component;

/**
 * Seeds users alice/alice and bob/bob, a few posts and comments into an empty database. Runs after
 * the port is open, so {@link #isDone()} gates the health check.
 */
@Component
public class SeedData implements CommandLineRunner {

  static final List<String> USERS = List.of("alice", "bob");

  private final UserRepository users;
  private final PasswordHasher hasher;
  private final BlogService blog;
  private final AtomicBoolean done = new AtomicBoolean();

  public SeedData(UserRepository users, PasswordHasher hasher, BlogService blog) {
    this.users = users;
    this.hasher = hasher;
    this.blog = blog;
  }

  @Override
  public void run(String... args) {
    if (users.count() == 0) {
      seed();
    }
    done.set(true);
  }

  public boolean isDone() {
    return done.get();
  }

  private void seed() {
    for (String name : USERS) {
      users.save(new User(name, hasher.hash(name, name), Instant.now()));
    }
    for (SeedPosts.SeedPost post : SeedPosts.all()) {
      long id = blog.createPost(post.author(), post.title(), post.body()).getId();
      for (SeedPosts.SeedComment comment : post.comments()) {
        blog.addComment(id, comment.author(), comment.body());
      }
    }
  }
}
