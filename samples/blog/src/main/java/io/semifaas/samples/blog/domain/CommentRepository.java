package io.semifaas.samples.blog.domain;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

public interface CommentRepository extends JpaRepository<Comment, Long> {

  List<Comment> findByPostIdOrderByIdAsc(Long postId);

  List<Comment> findAllByOrderByIdAsc();

  long countByPostId(Long postId);
}
