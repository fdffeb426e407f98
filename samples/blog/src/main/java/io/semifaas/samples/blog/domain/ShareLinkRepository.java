package io.semifaas.samples.blog.domain;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

public interface ShareLinkRepository extends JpaRepository<ShareLink, Long> {

  List<ShareLink> findByPostIdOrderByIdAsc(Long postId);
}
