import Link from 'next/link';
import type { CategoryTreeQuery } from '../generated/graphql';

/** The category tree as nested lists; the current category is marked for screen readers too. */
export function CategoryNav({
  tree,
  currentId,
}: {
  tree: CategoryTreeQuery['categories'];
  currentId?: string;
}): React.ReactNode {
  const link = (c: { id: string; name: string }): React.ReactNode => (
    <Link
      href={`/category/${c.id}`}
      {...(c.id === currentId ? { 'aria-current': 'page' as const, className: 'current' } : {})}
    >
      {c.name}
    </Link>
  );
  return (
    <nav className="category-nav" aria-label="Categories">
      <h2>Shop by category</h2>
      <ul>
        <li>
          <Link
            href="/"
            {...(currentId === undefined
              ? { 'aria-current': 'page' as const, className: 'current' }
              : {})}
          >
            All products
          </Link>
        </li>
        {tree.map((root) => (
          <li key={root.id}>
            {link(root)}
            {root.children.length > 0 ? (
              <ul>
                {root.children.map((child) => (
                  <li key={child.id}>
                    {link(child)}
                    {child.children.length > 0 ? (
                      <ul>
                        {child.children.map((leaf) => (
                          <li key={leaf.id}>{link(leaf)}</li>
                        ))}
                      </ul>
                    ) : null}
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </nav>
  );
}
