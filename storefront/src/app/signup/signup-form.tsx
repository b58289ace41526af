'use client';

import { useState, type FormEvent, type ReactNode } from 'react';
import { clientQuery } from '../../components/client-query';
import { useSettings } from '../../components/shop-provider';
import { RegisterDocument } from '../../generated/graphql';
import { beginSignIn } from '../../lib/auth';
import { plainError } from '../../lib/format';
import { GraphQLRequestError } from '../../lib/graphql';

const raw = (form: FormData, name: string): string => {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
};
const field = (form: FormData, name: string): string => raw(form, name).trim();

/** Sign-up through the `register` mutation; the shopper then signs in with Keycloak. */
export function SignUpForm(): ReactNode {
  const settings = useSettings();
  const [error, setError] = useState<string | undefined>(undefined);
  const [created, setCreated] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (busy) return;
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(undefined);
    clientQuery(settings.gatewayUrl, RegisterDocument, {
      input: {
        name: field(form, 'name'),
        email: field(form, 'email'),
        password: raw(form, 'password'),
      },
    }).then(
      ({ register }) => setCreated(register.email),
      (err: unknown) => {
        const code = err instanceof GraphQLRequestError ? err.code : 'INTERNAL';
        setError(
          code === 'ALREADY_EXISTS'
            ? 'An account with this email already exists. Please sign in instead.'
            : plainError(code),
        );
        setBusy(false);
      },
    );
  };

  if (created) {
    return (
      <div className="message-page">
        <h1>Your account is ready</h1>
        <p>Sign in with {created} and the password you chose.</p>
        <button
          type="button"
          className="button primary"
          onClick={() => void beginSignIn(settings.oidc, '/')}
        >
          Sign in
        </button>
      </div>
    );
  }
  return (
    <div className="message-page">
      <h1>Create your account</h1>
      <form onSubmit={onSubmit} className="signup-form">
        <div className="field">
          <label htmlFor="signup-name">Your name</label>
          <input id="signup-name" name="name" required autoComplete="name" />
        </div>
        <div className="field">
          <label htmlFor="signup-email">Email</label>
          <input id="signup-email" name="email" type="email" required autoComplete="email" />
        </div>
        <div className="field">
          <label htmlFor="signup-password">Password (at least 8 characters)</label>
          <input
            id="signup-password"
            name="password"
            type="password"
            required
            minLength={8}
            autoComplete="new-password"
          />
        </div>
        <p role="alert" className="error">
          {error}
        </p>
        <button type="submit" className="button primary wide" aria-disabled={busy}>
          {busy ? 'Creating your account…' : 'Create account'}
        </button>
      </form>
    </div>
  );
}
