import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireViewer, type RequestContext } from '../../../kit/src';
import { LinkExchangeAccountInput } from './account.input';
import type { AccountService } from './account.service';
import { Balance, ExchangeAccount } from './account.type';

/** Checks sign-in before arguments are validated, so an anonymous caller learns nothing about inputs. */
export const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => ExchangeAccount)
export class AccountResolver {
  constructor(private readonly service: AccountService) {}

  @Query(() => [ExchangeAccount], { description: 'Your linked exchange accounts, oldest first.' })
  @UseMiddleware(signedIn)
  exchangeAccounts(@Ctx() ctx: RequestContext): Promise<ExchangeAccount[]> {
    return this.service.accounts(ctx);
  }

  @Query(() => [Balance], { description: 'Balances of one of your accounts: paper ones as stored, real ones fetched from the exchange now.' })
  @UseMiddleware(signedIn)
  balances(@Arg('accountId', () => ID) accountId: string, @Ctx() ctx: RequestContext): Promise<Balance[]> {
    return this.service.balances(ctx, accountId);
  }

  @Mutation(() => ExchangeAccount, {
    description:
      'Links a PAPER account (default: starting balances, fee and slippage from the input or the server) or a CCXT exchange account (TRADER or ADMIN): ' +
      'the exchange must accept the API key and secret, which are stored encrypted and never returned.',
  })
  @UseMiddleware(signedIn)
  linkExchangeAccount(@Arg('input', () => LinkExchangeAccountInput) input: LinkExchangeAccountInput, @Ctx() ctx: RequestContext): Promise<ExchangeAccount> {
    return this.service.link(ctx, input);
  }

  @Mutation(() => ExchangeAccount, { description: 'Hides an account and deletes its credentials; CONFLICT while it has live orders. Its orders stay readable.' })
  @UseMiddleware(signedIn)
  unlinkExchangeAccount(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ExchangeAccount> {
    return this.service.unlink(ctx, id);
  }

  @FieldResolver(() => [Balance], { name: 'balances', description: 'The same as `balances(accountId)`.' })
  accountBalances(@Root() account: ExchangeAccount, @Ctx() ctx: RequestContext): Promise<Balance[]> {
    return this.service.balances(ctx, account.id);
  }
}
