import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { SignUpForm } from './signup-form';

export const metadata: Metadata = { title: 'Create your account' };

export default function SignUpPage(): ReactNode {
  return <SignUpForm />;
}
