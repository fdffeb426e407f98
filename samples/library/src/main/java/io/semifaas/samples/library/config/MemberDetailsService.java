package io.semifaas.samples.library.config;

import io.semifaas.samples.library.domain.Member;
import io.semifaas.samples.library.domain.MemberRepository;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.stereotype.Service;

/** Looks members up by username for form login. */
@Service
public class MemberDetailsService implements UserDetailsService {

  private final MemberRepository members;

  public MemberDetailsService(MemberRepository members) {
    this.members = members;
  }

  @Override
  public UserDetails loadUserByUsername(String username) {
    Member member =
        members
            .findByUsername(username)
            .orElseThrow(() -> new UsernameNotFoundException("no member " + username));
    return User.withUsername(member.getUsername())
        .password(member.getPasswordHash())
        .roles(member.getRole())
        .build();
  }
}
