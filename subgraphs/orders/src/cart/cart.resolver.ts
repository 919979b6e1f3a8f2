import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireViewer, type RequestContext } from '../../../kit/src';
import { Money } from '../shared/money.type';
import { AddToCartArgs, RemoveCartLineArgs, UpdateCartLineArgs } from './cart.input';
import { cartTotal, type CartService, type CartView } from './cart.service';
import { Cart } from './cart.type';

/** Signed-in callers only, checked before arguments are validated. */
const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => Cart)
export class CartResolver {
  constructor(private readonly service: CartService) {}

  @Query(() => Cart, { nullable: true, description: "The signed-in user's cart." })
  @UseMiddleware(signedIn)
  cart(@Ctx() ctx: RequestContext): Promise<CartView> {
    return this.service.viewerCart(ctx);
  }

  @Mutation(() => Cart, { description: 'NOT_FOUND for an unknown product, BAD_USER_INPUT for one not for sale or past 100 units.' })
  @UseMiddleware(signedIn)
  addToCart(@Args(() => AddToCartArgs) args: AddToCartArgs, @Ctx() ctx: RequestContext): Promise<CartView> {
    return this.service.add(ctx, args.productId, args.quantity);
  }

  @Mutation(() => Cart, { description: 'Sets the quantity of a product in the cart; 0 removes it. NOT_FOUND when the product is not in the cart.' })
  @UseMiddleware(signedIn)
  updateCartLine(@Args(() => UpdateCartLineArgs) args: UpdateCartLineArgs, @Ctx() ctx: RequestContext): Promise<CartView> {
    return this.service.update(ctx, args.productId, args.quantity);
  }

  @Mutation(() => Cart, { description: 'Removes a product from the cart (nothing happens when it is not there).' })
  @UseMiddleware(signedIn)
  removeCartLine(@Args(() => RemoveCartLineArgs) args: RemoveCartLineArgs, @Ctx() ctx: RequestContext): Promise<CartView> {
    return this.service.remove(ctx, args.productId);
  }

  @FieldResolver(() => Money)
  total(@Root() cart: CartView): Money {
    return cartTotal(cart);
  }
}
