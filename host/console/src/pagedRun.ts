// Runs a listing the API answers a page at a time (impact previews, backtests, the audit log) through
// every page, one request after another, keeping each page's answer; stops at the last page,
// at the first error, or when cancelled (the page in flight is then dropped).

import { useRef, useState } from "preact/hooks";

export interface PagedRun<Page> {
  pages: Page[];
  running: boolean;
  /** Every page was read. */
  complete: boolean;
  cancelled: boolean;
  error?: Error;
}

/** One page's answer and the cursor of the next (`null`: it was the last). */
export type FetchPage<Page, Cursor> = (cursor: Cursor | null) => Promise<{ page: Page; next: Cursor | null }>;

const IDLE: PagedRun<never> = { pages: [], running: false, complete: false, cancelled: false };

export function usePagedRun<Page, Cursor>() {
  const [run, setRun] = useState<PagedRun<Page>>(IDLE);
  // Each start gets a number; a run whose number is no longer current stops.
  const current = useRef(0);

  const start = async (fetchPage: FetchPage<Page, Cursor>) => {
    const mine = ++current.current;
    const pages: Page[] = [];
    setRun({ pages, running: true, complete: false, cancelled: false });
    let cursor: Cursor | null = null;
    try {
      do {
        const answer: { page: Page; next: Cursor | null } = await fetchPage(cursor);
        if (mine !== current.current) return;
        pages.push(answer.page);
        cursor = answer.next;
        setRun({ pages: [...pages], running: cursor !== null, complete: cursor === null, cancelled: false });
      } while (cursor !== null);
    } catch (error) {
      if (mine === current.current) setRun({ pages: [...pages], running: false, complete: false, cancelled: false, error: error as Error });
    }
  };

  const cancel = () => {
    current.current++;
    setRun((now) => ({ ...now, running: false, cancelled: true }));
  };

  return { run, start, cancel };
}
