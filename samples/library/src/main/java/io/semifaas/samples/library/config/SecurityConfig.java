package io.semifaas.samples.library.config;

import io.semifaas.samples.library.domain.Member;
import jakarta.servlet.DispatcherType;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.csrf.CsrfTokenRequestAttributeHandler;

/**
 * Form login against the members table. The catalogue, the book pages, the JSON API and the login
 * page are public; lending needs a login and catalogue changes need the librarian role.
 */
@Configuration
@EnableWebSecurity
public class SecurityConfig {

  @Bean
  SecurityFilterChain securityFilterChain(HttpSecurity http) throws Exception {
    http.authorizeHttpRequests(
            requests ->
                requests
                    .dispatcherTypeMatchers(DispatcherType.ERROR, DispatcherType.FORWARD)
                    .permitAll()
                    .requestMatchers("/books/new", "/books/*/edit")
                    .hasRole(Member.ROLE_LIBRARIAN)
                    .requestMatchers(HttpMethod.POST, "/books")
                    .hasRole(Member.ROLE_LIBRARIAN)
                    .requestMatchers(HttpMethod.GET, "/", "/books", "/books/*")
                    .permitAll()
                    .requestMatchers("/api/**", "/health", "/css/**", "/error")
                    .permitAll()
                    .anyRequest()
                    .authenticated())
        .formLogin(form -> form.loginPage("/login").defaultSuccessUrl("/books").permitAll())
        .logout(logout -> logout.logoutSuccessUrl("/login?logout").permitAll())
        // CSRF protection stays on. The token is rendered as stored in the session rather than
        // masked afresh on every response, so the same page renders the same bytes.
        .csrf(csrf -> csrf.csrfTokenRequestHandler(new CsrfTokenRequestAttributeHandler()));
    return http.build();
  }

  /**
   * Reads hashes with an {@code {id}} prefix. The seeded members carry pre-computed bcrypt hashes,
   * so the members table is the same on every start.
   */
  @Bean
  PasswordEncoder passwordEncoder() {
    return PasswordEncoderFactories.createDelegatingPasswordEncoder();
  }
}
